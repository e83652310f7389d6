using System.IO.Compression;
using System.Net;
using System.Reflection.Metadata;
using System.Xml.Linq;

namespace CacheFlow.Tests;

/// <summary>
/// The NuGet packages as a user gets them: their metadata, docs and symbols, and a console program that restores them
/// from a local folder feed, builds and runs against embedded Garnet. The packages come from the folder in
/// <c>CACHEFLOW_PACKAGES</c> (CI packs them first); without it, the test packs the libraries itself.
/// </summary>
[Collection(DotnetCli.Collection)]
public sealed partial class PackageTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    private static readonly string[] Packages = ["CacheFlow", "CacheFlow.AspNetCore", "CacheFlow.WriteBehind"];

    /// <summary>The Portable PDB record SourceLink's JSON is kept in.</summary>
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    /// <summary>The Portable PDB record a source file embedded in the symbols is kept in.</summary>
    private static readonly Guid EmbeddedSourceKind = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    [Fact]
    public async Task ThePackagesCarryTheirMetadataDocsAndSymbolsAndAConsoleProgramRunsOnThem()
    {
        using var work = new TempFolder();
        var feed = Environment.GetEnvironmentVariable("CACHEFLOW_PACKAGES") is { Length: > 0 } given ? given : await PackAsync(work.Sub("feed"));

        var version = "";
        foreach (var id in Packages)
            version = CheckPackage(feed, id);
        var output = await RunConsumerAsync(work, feed, version);

        Assert.EndsWith("ok", output.TrimEnd(), StringComparison.Ordinal);
    }

    /// <summary>A markdown link to a relative path in the package, such as <c>](docs/caching.md)</c>.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\]\(((?!https?:)[^)#]+)\)")]
    private static partial System.Text.RegularExpressions.Regex DocLinks();

    /// <summary>Checks one package's nuspec, files and symbols; returns its version.</summary>
    private static string CheckPackage(string feed, string id)
    {
        var nupkg = Directory.GetFiles(feed, $"{id}.*.nupkg").Single(p => char.IsAsciiDigit(Path.GetFileName(p)[id.Length + 1]));
        using var package = ZipFile.OpenRead(nupkg);
        var nuspec = XDocument.Load(package.GetEntry($"{id}.nuspec")!.Open()).Root!;
        var ns = nuspec.Name.Namespace;
        var metadata = nuspec.Element(ns + "metadata")!;
        string Field(string name) => metadata.Element(ns + name)?.Value ?? "";

        Assert.Equal(id, Field("id"));
        var version = Field("version");
        Assert.Matches(@"^\d+\.\d+\.\d+", version);
        Assert.NotEmpty(Field("authors"));
        Assert.NotEmpty(Field("description"));
        Assert.Contains("cache", Field("tags"), StringComparison.Ordinal);
        var license = metadata.Element(ns + "license")!;
        Assert.Equal(("expression", "MIT"), (license.Attribute("type")?.Value, license.Value));
        // A real address (packed with CacheFlowRepositoryUrl) or none: the repository has no public one yet.
        var repository = metadata.Element(ns + "repository")!;
        var url = repository.Attribute("url")?.Value;
        Assert.True(url is null || url.StartsWith("https://", StringComparison.Ordinal), $"repository url: {url}");
        Assert.Equal(url ?? "", Field("projectUrl"));
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
        Assert.Equal("README.md", Field("readme"));
        var readme = new StreamReader(package.GetEntry("README.md")!.Open()).ReadToEnd();
        Assert.Contains("CacheFlow", readme, StringComparison.Ordinal);
        // The README links to the documentation, and every link it makes into the package finds its file there.
        var links = DocLinks().Matches(readme).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("docs/caching.md", links);
        Assert.All(links, link => Assert.NotNull(package.GetEntry(link)));
        Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.dll"));
        Assert.Contains("<member name=", new StreamReader(package.GetEntry($"lib/net10.0/{id}.xml")!.Open()).ReadToEnd(), StringComparison.Ordinal);

        using var symbols = ZipFile.OpenRead(Path.ChangeExtension(nupkg, ".snupkg"));
        using var pdb = new MemoryStream();
        symbols.GetEntry($"lib/net10.0/{id}.pdb")!.Open().CopyTo(pdb);
        pdb.Position = 0;
        using var pdbReader = MetadataReaderProvider.FromPortablePdbStream(pdb);
        var reader = pdbReader.GetMetadataReader();
        var kinds = reader.CustomDebugInformation.Select(reader.GetCustomDebugInformation).ToList();
        if (url is not null)
        {
            // Sources mapped to the repository's address at the packed commit.
            var sourceLink = kinds.Where(info => reader.GetGuid(info.Kind) == SourceLinkKind)
                .Select(info => System.Text.Encoding.UTF8.GetString(reader.GetBlobBytes(info.Value))).SingleOrDefault();
            Assert.Contains(repository.Attribute("commit")!.Value, sourceLink ?? "(no SourceLink in the symbols)", StringComparison.Ordinal);
        }
        else
        {
            // No address to map them to: the symbols carry the sources themselves.
            Assert.Contains(kinds, info => reader.GetGuid(info.Kind) == EmbeddedSourceKind);
        }

        return version;
    }

    /// <summary>Builds and runs the consumer program over the feed, restoring into a packages folder of its own.</summary>
    private async Task<string> RunConsumerAsync(TempFolder work, string feed, string version)
    {
        var project = work.Sub("consumer");
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "PackageConsumer")))
            File.Copy(file, Path.Combine(project, Path.GetFileName(file)));
        // The local feed first, then the feed this machine restores from; the machine's global packages folder is only a
        // fallback, so the CacheFlow packages are always the ones in the feed, never a copy cached by an earlier run.
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await File.WriteAllTextAsync(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{work.Sub("packages")}" /></config>
              <fallbackPackageFolders><clear /><add key="machine" value="{machinePackages}" /></fallbackPackageFolders>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
            </configuration>
            """);
        var endpoint = (IPEndPoint)backend.Redis.GetEndPoints()[0];
        return await DotnetCli.RunAsync(project, "run", "-p:CacheFlowVersion=" + version, "--", $"127.0.0.1:{endpoint.Port}");
    }

    /// <summary>Packs the libraries of this repository into <paramref name="feed"/>.</summary>
    private static async Task<string> PackAsync(string feed)
    {
        var root = DotnetCli.RepositoryRoot;
        foreach (var id in Packages)
            await DotnetCli.RunAsync(root, "pack", Path.Combine("src", id, id + ".csproj"), "-c", "Release", "-o", feed);
        return feed;
    }

    /// <summary>A temp folder deleted with everything in it.</summary>
    private sealed class TempFolder : IDisposable
    {
        private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("cacheflow-package-");

        public string Sub(string name) => Directory.CreateDirectory(Path.Combine(_root.FullName, name)).FullName;

        public void Dispose() => _root.Delete(recursive: true);
    }
}
