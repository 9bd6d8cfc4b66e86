// Herald.Client in a program of its own: a visitor of a site opens their dialog and prints every message in it,
// first those already there, then each new one as it arrives, until it has seen <count> (or Ctrl+C).
//
//   dotnet run -- <herald-url> <assistant-id> [guest-id] [count]
//   dotnet run -- http://localhost:8000 1 visitor-17
using Herald.Client;

if (args.Length < 2 || !Uri.TryCreate(args[0], UriKind.Absolute, out var baseUrl) || !long.TryParse(args[1], out var assistantId))
{
    Console.Error.WriteLine("usage: dotnet run -- <herald-url> <assistant-id> [guest-id] [count]");
    return 2;
}

var guestId = args.Length > 2 ? args[2] : "sample-visitor";
var count = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : int.MaxValue;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

using var herald = new HeraldClient(baseUrl);
var guest = HeraldCredentials.Guest(assistantId, guestId);
var dialog = await herald.OpenGuestDialogAsync(guest, stop.Token);
Console.WriteLine($"dialog {dialog.Id} of {guestId}");

var seen = 0;
try
{
    // lastEventId 0: the dialog's messages from the start (as far as the server keeps them), then live ones.
    await foreach (var e in herald.SubscribeDialogAsync(dialog.Id, guest, lastEventId: 0, stop.Token))
    {
        if (e.IsReset)
        {
            Console.WriteLine($"reset: {e.Reset?.Reason}");
        }
        else if (e.MessageNew is { } message)
        {
            Console.WriteLine($"#{e.Id} {message.Sender}: {message.Text}");
            if (++seen >= count)
            {
                break;
            }
        }
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}

return 0;
