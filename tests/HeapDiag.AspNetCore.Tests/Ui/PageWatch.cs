using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>What a page did that a test should check: every request, answers that failed, console errors, uncaught exceptions.</summary>
internal sealed class PageWatch
{
    // Chromium reports every answer of 400 and above to the console itself; those are checked as answers instead.
    private const string FailedResponse = "Failed to load resource: the server responded with a status of";

    private readonly Uri _origin;
    private readonly ConcurrentQueue<IRequest> _requests = new();
    private readonly ConcurrentQueue<(int Status, string Url)> _failures = new();
    private readonly ConcurrentQueue<string> _errors = new();

    public PageWatch(IPage page, Uri origin)
    {
        _origin = origin;
        page.Request += (_, request) => _requests.Enqueue(request);
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                _failures.Enqueue((response.Status, response.Url));
            }
        };
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.StartsWith(FailedResponse, StringComparison.Ordinal))
            {
                _errors.Enqueue($"console: {message.Text}");
            }
        };
        page.PageError += (_, error) => _errors.Enqueue($"uncaught: {error}");
    }

    public IReadOnlyCollection<IRequest> Requests => _requests;

    /// <summary>Every request went to the app's own origin (a blob: URL the page made counts as its origin's).</summary>
    public void AssertStayedOnOrigin()
    {
        Assert.NotEmpty(_requests);
        foreach (var request in _requests)
        {
            var url = new Uri(request.Url.StartsWith("blob:", StringComparison.Ordinal) ? request.Url["blob:".Length..] : request.Url);
            Assert.True(
                url.Scheme == _origin.Scheme && url.Host == _origin.Host && url.Port == _origin.Port,
                $"The page requested {request.Url}, outside {_origin}");
        }
    }

    /// <summary>No console error or exception, and every failed answer is one the test expected.</summary>
    public void AssertQuiet(Func<int, string, bool> expectedFailure)
    {
        Assert.Empty(_errors);
        foreach (var (status, url) in _failures)
        {
            Assert.True(expectedFailure(status, url), $"Unexpected answer {status} to {url}");
        }
    }
}
