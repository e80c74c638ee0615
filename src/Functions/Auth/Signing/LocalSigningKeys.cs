using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.IdentityModel.Tokens;

namespace OrderProcessing.Functions.Auth.Signing;

/// <summary>
/// Development signing keys: P-256 keys generated on first use and kept in one file in a folder that every instance
/// of the local host shares (AUTH_LOCAL_KEY_DIR), so tokens issued by one instance verify in all of them.
/// The file is re-read whenever it changes, so a rotation made by one instance reaches the others.
/// A rotated-out key stays published until every token it signed has expired.
/// </summary>
public sealed class LocalSigningKeys(AuthOptions options, TimeProvider time, ILogger<LocalSigningKeys> logger) : ISigningKeys, IDisposable
{
    public const string FileName = "signing-keys.json";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private Loaded? _loaded;

    private string FilePath => Path.Combine(options.LocalKeyDirectory, FileName);

    public async ValueTask<SigningKeySet> GetAsync(CancellationToken cancellationToken = default) =>
        (await LoadAsync(cancellationToken)).Set;

    public async ValueTask<byte[]> SignAsync(string keyId, byte[] data, CancellationToken cancellationToken = default)
    {
        var loaded = await LoadAsync(cancellationToken);
        return loaded.Private.TryGetValue(keyId, out var key)
            ? key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            : throw new InvalidOperationException($"Signing key {keyId} is not in {FilePath}.");
    }

    /// <summary>Makes a new key current; the previous ones keep verifying the tokens they signed until those expire.</summary>
    public async Task<string> RotateAsync(CancellationToken cancellationToken = default)
    {
        using var fileLock = await LockAsync(cancellationToken);
        var stored = Read() ?? new StoredKeys([]);
        var now = time.GetUtcNow();
        var retired = stored.Keys.Select(k => k with { RetiredAt = k.RetiredAt ?? now });
        var fresh = NewKey(now);
        Write(new StoredKeys([fresh, .. retired.Where(k => IsStillNeeded(k, now))]));
        logger.LocalKeyRotated(fresh.KeyId);
        return fresh.KeyId;
    }

    public void Dispose() => _gate.Dispose();

    private async ValueTask<Loaded> LoadAsync(CancellationToken cancellationToken)
    {
        var stamp = Stamp();
        if (_loaded is { } current && stamp is not null && current.Stamp == stamp && current.ValidUntil > time.GetUtcNow())
        {
            return current;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            stamp = Stamp();
            if (_loaded is { } again && stamp is not null && again.Stamp == stamp && again.ValidUntil > time.GetUtcNow())
            {
                return again;
            }

            if (stamp is null)
            {
                await CreateFirstKeyAsync(cancellationToken);
                stamp = Stamp();
            }

            var stored = Read() ?? throw new InvalidOperationException($"{FilePath} could not be read.");
            // Replaced keys are not disposed: a concurrent signer may still hold them; the GC collects them.
            _loaded = Build(stored, stamp!);
            return _loaded;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CreateFirstKeyAsync(CancellationToken cancellationToken)
    {
        using var fileLock = await LockAsync(cancellationToken);
        if (Read() is { Keys.Count: > 0 })
        {
            return; // Another instance made it while we waited for the lock.
        }

        var key = NewKey(time.GetUtcNow());
        Write(new StoredKeys([key]));
        logger.LocalKeyCreated(key.KeyId, options.LocalKeyDirectory);
    }

    private Loaded Build(StoredKeys stored, string stamp)
    {
        var now = time.GetUtcNow();
        var live = stored.Keys.Where(k => IsStillNeeded(k, now)).ToList();
        if (live.Count == 0 || live[0].RetiredAt is not null)
        {
            throw new InvalidOperationException($"{FilePath} holds no current signing key; delete the file to start afresh.");
        }

        var keys = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        var jwks = new List<JsonWebKey>();
        foreach (var entry in live)
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(Convert.FromBase64String(entry.Pkcs8), out _);
            keys[entry.KeyId] = ecdsa;
            jwks.Add(EcKeys.ToJwk(ecdsa.ExportParameters(includePrivateParameters: false)));
        }

        // A retired key drops out on its own once its tokens have expired, even if nobody rewrites the file.
        var validUntil = live.Where(k => k.RetiredAt is not null).Select(RetainedUntil).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        return new Loaded(stamp, new SigningKeySet(live[0].KeyId, jwks), keys, validUntil);
    }

    private bool IsStillNeeded(StoredKey key, DateTimeOffset now) => key.RetiredAt is null || RetainedUntil(key) > now;

    /// <summary>A retired key signed its last token when it was retired; that token lives at most this long.</summary>
    private DateTimeOffset RetainedUntil(StoredKey key) =>
        key.RetiredAt!.Value + options.AccessTokenLifetime + options.ClockSkew + TimeSpan.FromMinutes(1);

    private static StoredKey NewKey(DateTimeOffset now)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var kid = EcKeys.ToJwk(ecdsa.ExportParameters(includePrivateParameters: false)).Kid;
        return new StoredKey(kid, now, null, Convert.ToBase64String(ecdsa.ExportPkcs8PrivateKey()));
    }

    private string? Stamp()
    {
        var info = new FileInfo(FilePath);
        return info.Exists ? $"{info.LastWriteTimeUtc.Ticks}:{info.Length}" : null;
    }

    private StoredKeys? Read()
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(FilePath), LocalKeysJson.Default.StoredKeys);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Written to a temporary file and moved into place, so a reader never sees half a file.</summary>
    private void Write(StoredKeys keys)
    {
        Directory.CreateDirectory(options.LocalKeyDirectory);
        var temporary = FilePath + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(keys, LocalKeysJson.Default.StoredKeys));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, FilePath, overwrite: true);
    }

    /// <summary>An exclusive lock on a file beside the keys: instances in other processes wait for each other.</summary>
    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.LocalKeyDirectory);
        var path = FilePath + ".lock";
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 200)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private sealed record Loaded(string Stamp, SigningKeySet Set, IReadOnlyDictionary<string, ECDsa> Private, DateTimeOffset ValidUntil);
}

/// <summary>The key file: newest (current) key first.</summary>
internal sealed record StoredKeys(IReadOnlyList<StoredKey> Keys);

/// <summary>One key: its id, when it was made and retired, and its private key (PKCS#8, base64).</summary>
internal sealed record StoredKey(string KeyId, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt, string Pkcs8);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(StoredKeys))]
internal sealed partial class LocalKeysJson : JsonSerializerContext;
