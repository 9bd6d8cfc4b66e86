using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Herald.Testing;

/// <summary>
/// A TLS-only redis-server (<c>rediss://</c>) with a self-signed certificate for 127.0.0.1 made for the test run, and a
/// password; <see cref="CertificateFile"/> is what a client must trust (Herald:Redis:TlsCaFile).
/// </summary>
public sealed class TlsRedisServerFixture : RedisServerFixture
{
    private readonly string _certificateDirectory;

    public TlsRedisServerFixture()
        : this(Directory.CreateTempSubdirectory("herald-redis-tls-").FullName)
    {
    }

    private TlsRedisServerFixture(string directory)
        : base(CreateSettings(directory))
    {
        _certificateDirectory = directory;
        CertificateFile = Path.Combine(directory, "server.crt");
    }

    /// <summary>The server's certificate (PEM), which is its own issuer.</summary>
    public string CertificateFile { get; }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_certificateDirectory, recursive: true);
    }

    private static RedisServerSettings CreateSettings(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=herald-test-redis", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        // A CA that issued itself: what a private deployment's CA file looks like to the client.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificateFile = Path.Combine(directory, "server.crt");
        var keyFile = Path.Combine(directory, "server.key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new RedisServerSettings { TlsCertificateFile = certificateFile, TlsKeyFile = keyFile, Password = "tls-pw" };
    }
}
