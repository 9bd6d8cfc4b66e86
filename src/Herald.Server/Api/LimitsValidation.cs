using Microsoft.Extensions.Options;

namespace Herald.Server.Api;

/// <summary>Refuses to start with rate limits that cannot work (a negative rate, a burst below one).</summary>
public sealed class LimitsValidation : IValidateOptions<HeraldOptions>
{
    public ValidateOptionsResult Validate(string? name, HeraldOptions options)
    {
        var limits = options.Limits;
        var errors = new List<string>();
        Rate(errors, nameof(limits.MessagesPerIpPerSecond), limits.MessagesPerIpPerSecond, nameof(limits.MessageBurstPerIp), limits.MessageBurstPerIp);
        Rate(errors, nameof(limits.MessagesPerGuestPerSecond), limits.MessagesPerGuestPerSecond, nameof(limits.MessageBurstPerGuest), limits.MessageBurstPerGuest);
        Rate(errors, nameof(limits.DialogsPerIpPerMinute), limits.DialogsPerIpPerMinute, nameof(limits.DialogBurstPerIp), limits.DialogBurstPerIp);
        Rate(errors, nameof(limits.DialogsPerAssistantPerMinute), limits.DialogsPerAssistantPerMinute, nameof(limits.DialogBurstPerAssistant), limits.DialogBurstPerAssistant);
        if (limits.LoginsPerIpPerMinute < 0)
        {
            errors.Add($"Herald:Limits:{nameof(limits.LoginsPerIpPerMinute)} must be 0 (no limit) or more, not {limits.LoginsPerIpPerMinute}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Rate(List<string> errors, string rateName, double rate, string burstName, int burst)
    {
        if (!double.IsFinite(rate) || rate < 0)
        {
            errors.Add($"Herald:Limits:{rateName} must be 0 (no limit) or more, not {rate}.");
        }
        else if (rate > 0 && burst < 1)
        {
            errors.Add($"Herald:Limits:{burstName} must be at least 1 while {rateName} is on, not {burst}.");
        }
    }
}
