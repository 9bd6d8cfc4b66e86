using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Herald.Testing;
using static Herald.Redis.Tests.TestHelpers;

namespace Herald.Redis.Tests;

/// <summary>A TLS-only server with a self-signed certificate for 127.0.0.1, made for the test run.</summary>
public sealed class TlsRedisServerFixture : RedisServerFixture
{
    public TlsRedisServerFixture()
        : this(Directory.CreateTempSubdirectory("herald-redis-tls-").FullName)
    {
    }

    private TlsRedisServerFixture(string directory)
        : base(CreateSettings(directory))
    {
        CertificateDirectory = directory;
        Certificate = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(directory, "server.crt")));
    }

    public string CertificateDirectory { get; }

    public X509Certificate2 Certificate { get; }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Certificate.Dispose();
        Directory.Delete(CertificateDirectory, recursive: true);
    }

    private static RedisServerSettings CreateSettings(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=herald-test-redis", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificateFile = Path.Combine(directory, "server.crt");
        var keyFile = Path.Combine(directory, "server.key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new RedisServerSettings { TlsCertificateFile = certificateFile, TlsKeyFile = keyFile, Password = "tls-pw" };
    }
}

public class TlsTests(TlsRedisServerFixture server) : IClassFixture<TlsRedisServerFixture>
{
    [Fact]
    public async Task Rediss_urls_connect_over_tls_for_commands_and_pub_sub()
    {
        Assert.StartsWith("rediss://", server.Url, StringComparison.Ordinal);
        await using var connection = await RedisConnection.ConnectAsync(TrustingTestCertificate()).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(TrustingTestCertificate()).Within();

        await connection.ExecuteAsync("SET", "tls:key", "secure").Within();
        Assert.Equal("secure", (await connection.ExecuteAsync("GET", "tls:key").Within()).AsString());
        await subscriber.SubscribeAsync("tls:1").Within();
        await connection.PublishAsync("tls:1", "sealed"u8.ToArray()).Within();
        Assert.Equal("sealed"u8.ToArray(), (await subscriber.Messages.NextAsync()).Payload.ToArray());
    }

    [Fact]
    public async Task An_untrusted_certificate_fails_the_connection()
    {
        var error = await Assert.ThrowsAsync<RedisConnectionException>(
            () => RedisConnection.ConnectAsync(Options(server.Url)).Within());
        Assert.Contains("127.0.0.1", error.Message, StringComparison.Ordinal);
    }

    private RedisClientOptions TrustingTestCertificate()
    {
        var options = Options(server.Url);
        options.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate?.GetCertHashString() == server.Certificate.Thumbprint;
        return options;
    }
}
