using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Documentation;

/// <summary>
/// The README and the pages under docs/ send readers to each other: every relative link must reach a file, and every
/// <c>#anchor</c> a heading of that file (GitHub's heading ids). Links to other sites are not followed.
/// </summary>
public sealed partial class DocumentationLinkTests
{
    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string> { "README.md" };
        foreach (var page in Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            pages.Add(Path.GetRelativePath(Repository.Root, page));
        }

        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_and_anchor_resolves(string page)
    {
        var file = Path.Combine(Repository.Root, page);
        var broken = new List<string>();
        foreach (var target in Links(File.ReadAllText(file)))
        {
            if (Uri.TryCreate(target, UriKind.Absolute, out _))
            {
                continue; // another site
            }

            var (path, anchor) = target.IndexOf('#') is var hash and >= 0 ? (target[..hash], target[(hash + 1)..]) : (target, null);
            var resolved = path.Length == 0 ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, Uri.UnescapeDataString(path)));
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                broken.Add($"{target}: no file {Path.GetRelativePath(Repository.Root, resolved)}");
            }
            else if (anchor is not null && (!resolved.EndsWith(".md", StringComparison.Ordinal) || !HeadingIds(File.ReadAllText(resolved)).Contains(anchor)))
            {
                broken.Add($"{target}: no heading with the id '{anchor}' in {Path.GetRelativePath(Repository.Root, resolved)}");
            }
        }

        Assert.True(broken.Count == 0, $"Broken links in {page}:\n{string.Join('\n', broken)}");
    }

    [Fact]
    public void The_README_is_read_in_ten_minutes()
    {
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, "README.md")).Length;
        Assert.True(lines <= 250, $"README.md has {lines} lines; move details to a page under docs/ and link it.");
    }

    [Fact]
    public void Heading_ids_are_made_as_GitHub_makes_them()
    {
        var ids = HeadingIds("# The page: `/debug/ui`\n## Downloads: zstd, ranges and digests\n```\n# not a heading\n```\n## Notes\n## Notes\n");
        Assert.Equal(["the-page-debugui", "downloads-zstd-ranges-and-digests", "notes", "notes-1"], ids);
        Assert.Equal(["a.md#x", "b.png", "c.md"], Links("[a](a.md#x) ![b](b.png \"title\") `[no](code.md)`\n```\n[no](fence.md)\n```\n[c](c.md)"));
    }

    /// <summary>Link and image targets outside code blocks and code spans.</summary>
    private static List<string> Links(string markdown) =>
        OutsideCode(markdown).SelectMany(line => LinkTarget().Matches(CodeSpan().Replace(line, string.Empty))).Select(m => m.Groups["target"].Value).ToList();

    /// <summary>GitHub's ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered.</summary>
    private static List<string> HeadingIds(string markdown)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new List<string>();
        foreach (var heading in OutsideCode(markdown).Select(line => Heading().Match(line)).Where(m => m.Success))
        {
            var id = NotInId().Replace(heading.Groups["text"].Value.Trim().ToLowerInvariant(), string.Empty).Replace(' ', '-');
            var repeat = seen.GetValueOrDefault(id);
            seen[id] = repeat + 1;
            ids.Add(repeat == 0 ? id : $"{id}-{repeat}");
        }

        return ids;
    }

    private static IEnumerable<string> OutsideCode(string markdown)
    {
        var fenced = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
            }
            else if (!fenced)
            {
                yield return line;
            }
        }
    }

    [GeneratedRegex(@"!?\[[^\]]*\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex LinkTarget();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{Nd}\p{Mn}\p{Pc}\- ]")]
    private static partial Regex NotInId();
}
