using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// A TCP link to an emulator that a test can cut and restore: while cut, new connections are refused and the open ones
/// are reset, as when a dependency goes away; the emulator itself keeps running. Stopping DynamoDB Local instead is
/// no stand-in for a DynamoDB outage: stopped (SIGKILL or SIGTERM) while writes are under way, it loses now and then
/// a transaction it had acknowledged, which DynamoDB never does.
/// </summary>
public sealed class NetworkCut : IAsyncDisposable
{
    private readonly Uri _upstream;
    private readonly int _port;
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;

    private NetworkCut(Uri upstream, int port)
    {
        _upstream = upstream;
        _port = port;
    }

    /// <summary>Where clients connect instead of the emulator (same scheme and path, this link's port).</summary>
    public Uri Endpoint => new UriBuilder(_upstream) { Host = "127.0.0.1", Port = _port }.Uri;

    public static NetworkCut To(Uri upstream)
    {
        var link = new NetworkCut(upstream, OrderProcessing.Local.Cloud.FreePort.Next());
        link.Restore();
        return link;
    }

    /// <summary>Refuses new connections and resets the open ones.</summary>
    public async Task CutAsync()
    {
        if (_listener is not { } listener)
        {
            return;
        }

        _listener = null;
        listener.Stop();
        await _accepting;
        foreach (var socket in _open.Keys)
        {
            Reset(socket);
        }
    }

    /// <summary>Accepts connections on the same port again.</summary>
    public void Restore()
    {
        if (_listener is not null)
        {
            return;
        }

        var listener = new TcpListener(IPAddress.Loopback, _port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _accepting = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp);
        _open[client] = 0;
        _open[upstream] = 0;
        try
        {
            await upstream.ConnectAsync(_upstream.Host, _upstream.Port);
            using var fromClient = new NetworkStream(client, ownsSocket: false);
            using var toUpstream = new NetworkStream(upstream, ownsSocket: false);
            // Either direction ending ends the connection, as a proxy that holds no state of its own would.
            await Task.WhenAny(fromClient.CopyToAsync(toUpstream), toUpstream.CopyToAsync(fromClient));
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            _open.TryRemove(client, out _);
            _open.TryRemove(upstream, out _);
            client.Dispose();
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            // No linger: the close sends RST, as a connection that breaks does, instead of a clean FIN.
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync() => await CutAsync();
}
