namespace Herald.Testing;

/// <summary>
/// Debian's nginx and its nchan module as the tests and the bench find them, and the lines every nginx.conf they
/// generate needs to run unprivileged in a temporary directory.
/// </summary>
public static class NginxInstall
{
    private const string DefaultBinary = "/usr/sbin/nginx";

    private static readonly string[] NchanModuleCandidates =
    [
        "/usr/lib/nginx/modules/ngx_nchan_module.so",
        "/usr/share/nginx/modules/ngx_nchan_module.so",
    ];

    /// <summary>nginx: <c>HERALD_NGINX</c>, else <c>/usr/sbin/nginx</c>, else the first on PATH.</summary>
    public static string Binary
    {
        get
        {
            if (Environment.GetEnvironmentVariable("HERALD_NGINX") is { Length: > 0 } configured)
            {
                return configured;
            }

            if (File.Exists(DefaultBinary))
            {
                return DefaultBinary;
            }

            var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "nginx"))
                .FirstOrDefault(File.Exists);
            return onPath ?? throw new InvalidOperationException(
                "nginx is not installed (looked for /usr/sbin/nginx and nginx on PATH): install Debian's package "
                + "(apt-get install nginx libnginx-mod-nchan; scripts/test.sh does it) or set HERALD_NGINX to its path.");
        }
    }

    /// <summary>The nchan module from Debian's <c>libnginx-mod-nchan</c>.</summary>
    public static string NchanModule => NchanModuleCandidates.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException(
            $"The nchan module is not installed (looked for {string.Join(", ", NchanModuleCandidates)}): apt-get install libnginx-mod-nchan.");

    /// <summary>Main context: as root, nginx's workers would run as 'nobody' and could not enter the 0700 temporary directory.</summary>
    public static string UserDirective => Posix.IsRoot ? "user root;" : "";

    /// <summary>HTTP context: every temp path inside <paramref name="directory"/>, none in the system's /var/lib/nginx.</summary>
    public static string TempPaths(string directory) => $"""
        client_body_temp_path {directory}/client_body;
        proxy_temp_path {directory}/proxy;
        fastcgi_temp_path {directory}/fastcgi;
        uwsgi_temp_path {directory}/uwsgi;
        scgi_temp_path {directory}/scgi;
        """;
}
