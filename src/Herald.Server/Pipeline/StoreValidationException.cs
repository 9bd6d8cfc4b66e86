namespace Herald.Server.Pipeline;

/// <summary>Thrown by a <see cref="WriteCommand"/> whose input turns out to be invalid against stored state (e.g. a unique email).</summary>
public sealed class StoreValidationException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
