using System.Net;
using System.Net.Sockets;

namespace OrderProcessing.Local.Cloud;

/// <summary>Free TCP ports, for emulators and for whoever starts the local host on a fixed port.</summary>
public static class FreePort
{
    /// <summary>A TCP port nobody listens on right now (the OS picks it).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static bool IsTaken(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
