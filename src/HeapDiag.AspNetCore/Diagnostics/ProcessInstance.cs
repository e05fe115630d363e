using System.Diagnostics;
using System.Security.Cryptography;

namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>
/// Identifies this process across dumps and logs: the OS process id can repeat after a restart,
/// the random session id does not.
/// </summary>
internal sealed class ProcessInstance
{
    public ProcessInstance()
    {
        using var process = Process.GetCurrentProcess();
        ProcessId = process.Id;
        StartTime = process.StartTime.ToUniversalTime();
        SessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    }

    public int ProcessId { get; }

    public string SessionId { get; }

    public DateTimeOffset StartTime { get; }
}
