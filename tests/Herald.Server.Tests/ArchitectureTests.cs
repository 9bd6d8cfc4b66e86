using System.Text.RegularExpressions;
using Herald.Testing;

namespace Herald.Server.Tests;

/// <summary>
/// Keeps the folders of src/Herald.Server layered: every reference from one folder to another follows an arrow of
/// <see cref="Allowed"/> (the table docs/architecture.md draws), and the arrows have no cycle. References are read
/// from the source: <c>using Herald.Server.X</c>, <c>Herald.Server.X.</c>, and <c>X.Type</c> written relative to the
/// <c>Herald.Server</c> namespace, in code and in <c>cref</c>s (comment prose does not count). Files in the root
/// folder (the options, namespace <c>Herald.Server</c>) are the bottom layer: they may reference no folder.
/// </summary>
public sealed partial class ArchitectureTests
{
    private const string Root = "(root)";

    // Top to bottom. A folder may use the folders on its right only; adding an arrow is a design decision to make here.
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Hosting"] = ["Ui", "Dialogs", "Topics", "Mercure", "Operations", "Bridge", "Transports", "Hub", "Auth", "Pipeline", "Storage", "Backplane", "Api", "Diagnostics"],
        ["Ui"] = ["Dialogs", "Auth", "Pipeline", "Storage", "Diagnostics"],
        ["Dialogs"] = ["Transports", "Hub", "Auth", "Pipeline", "Storage", "Api", "Diagnostics"],
        ["Topics"] = ["Transports", "Hub", "Auth", "Pipeline", "Backplane", "Api"],
        ["Mercure"] = ["Transports", "Auth", "Pipeline", "Storage", "Backplane", "Events", "Api", "Diagnostics"],
        ["Operations"] = ["Hub", "Auth", "Pipeline", "Backplane", "Api", "Diagnostics"],
        ["Bridge"] = ["Hub", "Auth", "Api"],
        ["Transports"] = ["Hub", "Auth", "Pipeline", "Storage", "Events", "Api", "Diagnostics"],
        ["Hub"] = ["Auth", "Pipeline", "Storage", "Backplane", "Events", "Api", "Diagnostics"],
        ["Auth"] = ["Pipeline", "Storage", "Api", "Diagnostics"],
        ["Pipeline"] = ["Storage", "Backplane", "Events", "Diagnostics"],
        ["Storage"] = ["Diagnostics"],
        ["Backplane"] = ["Events", "Diagnostics"],
        ["Events"] = [],
        ["Api"] = ["Diagnostics"],
        ["Diagnostics"] = [],
        [Root] = [],
    };

    private static string SourceRoot => Path.Combine(RepositoryPaths.Root, "src", "Herald.Server");

    [Fact]
    public void EveryFolderIsInTheTable()
    {
        var folders = Directory.GetDirectories(SourceRoot).Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj" or "wwwroot")).Order();
        Assert.Equal(Allowed.Keys.Where(k => k != Root).Order(), folders);
    }

    [Fact]
    public void FolderReferences_FollowTheDeclaredArrows()
    {
        var folders = Allowed.Keys.Where(k => k != Root).ToArray();
        var reference = new Regex(
            $@"\busing Herald\.Server\.(?<f>{string.Join('|', folders)})\b|(?:\bHerald\.Server\.|(?<![\w.]))(?<f>{string.Join('|', folders)})\.[A-Z]");
        var violations = new List<string>();
        foreach (var file in Directory.EnumerateFiles(SourceRoot, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(SourceRoot, file).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }

            var from = relative.Contains('/') ? relative[..relative.IndexOf('/')] : Root;
            foreach (var line in File.ReadLines(file))
            {
                foreach (Match match in reference.Matches(CodeOf(line)))
                {
                    var to = match.Groups["f"].Value;
                    if (to != from && !Allowed[from].Contains(to))
                    {
                        violations.Add($"{relative}: {from} → {to} ({line.Trim()})");
                    }
                }
            }
        }

        Assert.True(violations.Count == 0, "Arrows not in the table:\n" + string.Join('\n', violations.Distinct()));
    }

    [Fact]
    public void TheArrowsHaveNoCycle()
    {
        // Depth-first search; a folder met again while still on the path closes a cycle.
        var state = new Dictionary<string, bool>();
        foreach (var folder in Allowed.Keys)
        {
            Visit(folder, []);
        }

        void Visit(string folder, List<string> path)
        {
            if (state.TryGetValue(folder, out var done))
            {
                Assert.True(done, "Cycle: " + string.Join(" → ", path.SkipWhile(f => f != folder).Append(folder)));
                return;
            }

            state[folder] = false;
            path.Add(folder);
            foreach (var next in Allowed[folder])
            {
                Visit(next, path);
            }

            path.RemoveAt(path.Count - 1);
            state[folder] = true;
        }
    }

    // The code of a line plus the crefs of its comment: prose that names a type in another folder is not a dependency.
    private static string CodeOf(string line)
    {
        var comment = CommentStart().Match(line);
        return comment.Success
            ? line[..comment.Index] + " " + string.Join(' ', Cref().Matches(line[comment.Index..]).Select(m => m.Groups[1].Value))
            : line;
    }

    [GeneratedRegex(@"(?<!:)//")]
    private static partial Regex CommentStart();

    [GeneratedRegex("cref=\"([^\"]*)\"")]
    private static partial Regex Cref();
}
