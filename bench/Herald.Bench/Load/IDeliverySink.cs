namespace Herald.Bench.Load;

/// <summary>Receives what connections parse (the worker's counters and histogram).</summary>
internal interface IDeliverySink
{
    void OnDelivery(LoadConnection connection, int topic, long seq, long sentTicks, long receivedTicks);

    /// <summary>A heartbeat: an SSE comment, a SignalR ping.</summary>
    void OnComment();

    void OnOutOfOrder();
}
