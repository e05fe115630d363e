using System.Net;
using System.Text;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Reliability;

/// <summary>Generated hostile input gets only 400, 404 or 422, and nothing outside the dump directory is touched.</summary>
[Collection(CaptureCollection.Name)]
[Trait("Category", ReliabilityReport.Category)]
public sealed class BadInputTests(ReliabilityReport report)
{
    private static readonly HttpStatusCode[] Allowed = [HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.UnprocessableEntity];

    [Fact]
    public async Task Generated_ids_types_and_query_values_get_only_400_404_or_422()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use<FakeHeapDumpWriter>);
        var client = host.Client;
        var neighbour = Directory.CreateTempSubdirectory("heapdiag-neighbour-").FullName;
        var sentinel = Path.Combine(neighbour, "secret.txt");
        await File.WriteAllTextAsync(sentinel, "must stay untouched");
        var sentinelWritten = File.GetLastWriteTimeUtc(sentinel);
        var statuses = new Dictionary<int, int>();
        try
        {
            var inputs = GenerateInputs(new Random(20261124), Path.GetFileName(neighbour)).ToList();
            foreach (var input in inputs)
            {
                var encoded = Uri.EscapeDataString(input);

                // The client itself folds dot segments ("/heapdump/." is "/heapdump/"), so those never reach the
                // server as ids; they are still sent as query values.
                var reachesServerAsId = input.Trim('.').Length > 0;
                foreach (var (method, url) in new[]
                {
                    ("GET", $"/debug/heapdump/{encoded}"),
                    ("GET", $"/debug/heapdump/{encoded}/diagnostics"),
                    ("DELETE", $"/debug/heapdump/{encoded}"),
                    ("POST", $"/debug/heapdump?type={encoded}"),
                    ("POST", $"/debug/heapdump?type=mini&download={encoded}"),
                    ("GET", $"/debug/heapdump/capabilities?type={encoded}"),
                    ("GET", $"/debug/monitor?window={encoded}"),
                }.Where(route => reachesServerAsId || route.Item2.Contains('?', StringComparison.Ordinal)))
                {
                    using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));
                    statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
                    Assert.True(Allowed.Contains(response.StatusCode), $"{method} {url} -> {(int)response.StatusCode}");
                }
            }

            Assert.Equal("must stay untouched", await File.ReadAllTextAsync(sentinel));
            Assert.Equal(sentinelWritten, File.GetLastWriteTimeUtc(sentinel));
            Assert.Single(Directory.GetFileSystemEntries(neighbour));
            Assert.Empty(Directory.GetFileSystemEntries(host.DumpDirectory));

            report.Record("Bad input", "generated ids, types and query values",
                $"{inputs.Count} inputs (random bytes, 1-6 KB strings, encoded traversal towards a neighbouring directory, unicode, out-of-range numbers) × 7 routes (id in path, type, download, window)",
                $"{statuses.Values.Sum()} requests: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Value}× {s.Key}"))}; neighbouring sentinel unchanged; dump directory still empty");
        }
        finally
        {
            Directory.Delete(neighbour, recursive: true);
        }
    }

    private static IEnumerable<string> GenerateInputs(Random random, string neighbour)
    {
        string[] fixedInputs =
        [
            "..", "../..", $"../{neighbour}/secret.txt", $"..%2F{neighbour}%2Fsecret.txt", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..\\..\\windows",
            "/etc/passwd", "~", ".", "heapdump-x.dmp", "20261124T011500123Z-2477-manual-0-heap/../../x",
            "20261124T011500123Z-2147483648-manual-0-heap", "20261124T011500123Z-2477-manual-9999999-heap", "99999999T999999999Z-1-auto-1-heap",
            "-1", "00", "2147483648", "1e309", "NaN", "true ", "ＨＥＡＰ", "héap", "堆", "💥", "\u202Eheap", "heap\r\nX-Injected: 1",
        ];
        foreach (var input in fixedInputs)
        {
            yield return input;
        }

        for (var i = 0; i < 60; i++)
        {
            var bytes = new byte[random.Next(1, 64)];
            random.NextBytes(bytes);
            yield return Encoding.Latin1.GetString(bytes).Replace('\0', '0');   // the test host refuses NUL before the app sees it
        }

        for (var i = 0; i < 10; i++)
        {
            yield return new string((char)random.Next('a', 'z' + 1), random.Next(1024, 6 * 1024));
        }

        for (var i = 0; i < 20; i++)
        {
            yield return string.Concat(Enumerable.Range(0, random.Next(1, 40)).Select(_ => char.ConvertFromUtf32(random.Next(0x80, 0x2FFF))));
        }
    }
}
