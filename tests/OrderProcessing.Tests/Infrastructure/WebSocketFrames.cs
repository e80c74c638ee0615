using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>Reading and writing WebSocket frames in tests.</summary>
public static class Frames
{
    public static Task SendAsync(this ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>The next text frame, or null when none comes in time (the socket is then unusable).</summary>
    public static async Task<JsonDocument?> ReceiveJsonAsync(this ClientWebSocket socket, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        var buffer = new byte[64 * 1024];
        try
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            return result.MessageType == WebSocketMessageType.Close ? null : JsonDocument.Parse(message.ToArray());
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}

/// <summary>Every text frame a WebSocket client receives, read in the background until it is disposed.</summary>
public sealed class FrameRecorder : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentQueue<JsonElement> _frames = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    public FrameRecorder(ClientWebSocket socket)
    {
        _socket = socket;
        _reading = Task.Run(ReadAsync);
    }

    public IReadOnlyList<JsonElement> Frames => [.. _frames];

    /// <summary>The order status notifications received, in arrival order, as (orderId, status).</summary>
    public IReadOnlyList<(string OrderId, string Status)> StatusChanges =>
        Frames.Where(f => f.GetProperty("type").GetString() == "order.status_changed")
            .Select(f => (f.GetProperty("orderId").GetString()!, f.GetProperty("status").GetString()!))
            .ToList();

    /// <summary>Waits until no frame has arrived for <paramref name="quiet"/>: whatever was still on its way is in.</summary>
    public async Task QuietAsync(TimeSpan quiet)
    {
        var seen = _frames.Count;
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow - since < quiet)
        {
            await Task.Delay(100);
            if (_frames.Count != seen)
            {
                (seen, since) = (_frames.Count, DateTime.UtcNow);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reading;
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    using var json = JsonDocument.Parse(Encoding.UTF8.GetString(message.ToArray()));
                    _frames.Enqueue(json.RootElement.Clone());
                    message.SetLength(0);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }
}
