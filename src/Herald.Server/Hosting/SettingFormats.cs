using System.ComponentModel;
using System.Globalization;
using System.Reflection;

namespace Herald.Server.Hosting;

/// <summary>
/// Finds <c>Herald:*</c> values that are not of their setting's type (<c>abc</c> for a duration) and says what was
/// expected: the configuration binder's own message names only the CLR type (<c>System.TimeSpan</c>), which does not
/// tell an operator what to write. Converts exactly as the binder does (the type's <see cref="TypeConverter"/>,
/// invariant culture), so a value passes here if and only if the binder accepts it.
/// </summary>
internal static class SettingFormats
{
    private static readonly Dictionary<Type, string> Formats = new()
    {
        [typeof(TimeSpan)] = "a duration, hh:mm:ss or d.hh:mm:ss (e.g. 00:00:15)",
        [typeof(int)] = "a whole number",
        [typeof(long)] = "a whole number",
        [typeof(double)] = "a number (e.g. 2.5)",
        [typeof(bool)] = "true or false",
    };

    /// <summary>One line per value of <paramref name="section"/> that cannot become its property of <paramref name="type"/>.</summary>
    public static List<string> Check(IConfigurationSection section, Type type)
    {
        List<string> failures = [];
        Walk(section, type, failures);
        return failures;
    }

    private static void Walk(IConfigurationSection section, Type type, List<string> failures)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var child = section.GetSection(property.Name);
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (Formats.TryGetValue(propertyType, out var format))
            {
                // The binder sets only public setters: a computed property is not a setting.
                if (property.SetMethod is { IsPublic: true } && child.Value is { } value && !Converts(propertyType, value))
                {
                    failures.Add($"{child.Path} must be {format} (got '{value}')");
                }
            }
            else if (propertyType.IsClass && propertyType.Namespace == typeof(HeraldOptions).Namespace)
            {
                Walk(child, propertyType, failures);
            }
        }
    }

    private static bool Converts(Type type, string value)
    {
        try
        {
            _ = TypeDescriptor.GetConverter(type).ConvertFromString(null, CultureInfo.InvariantCulture, value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException or NotSupportedException)
        {
            return false;
        }
    }
}
