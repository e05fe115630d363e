using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Tests.Diagnostics;

/// <summary>Reading a container's memory limit and usage from cgroup files, v2 and v1, laid out in a temp directory as the kernel lays them out.</summary>
public sealed class CgroupMemoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("heapdiag-cgroup-").FullName;

    [Fact]
    public void V2_reads_the_limit_the_usage_and_the_working_set_without_inactive_page_cache()
    {
        Write("cgroup", "0::/kubepods/pod1/app\n");
        Write("fs/kubepods/pod1/app/memory.max", "1073741824\n");
        Write("fs/kubepods/pod1/app/memory.current", "900000000\n");
        Write("fs/kubepods/pod1/app/memory.stat", "anon 500000000\nfile 400000000\ninactive_file 300000000\nactive_file 100000000\n");

        var info = CgroupMemory.Read(Path.Combine(_root, "cgroup"), Path.Combine(_root, "fs"));

        Assert.Equal(new ContainerInfo(2, 1073741824, 900000000, 600000000, 400000000), info);
    }

    [Fact]
    public void V2_max_means_no_limit_and_a_container_sees_its_group_at_the_root()
    {
        Write("cgroup", "0::/\n");
        Write("fs/memory.max", "max\n");
        Write("fs/memory.current", "12345\n");

        var info = CgroupMemory.Read(Path.Combine(_root, "cgroup"), Path.Combine(_root, "fs"));

        Assert.Equal(new ContainerInfo(2, null, 12345, 12345), info);
    }

    [Fact]
    public void V1_reads_the_memory_controller_and_treats_the_huge_number_as_no_limit()
    {
        Write("cgroup", "9:name=systemd:/\n4:memory:/process_api/abc\n3:cpuset:/\n");
        Write("fs/memory/process_api/abc/memory.limit_in_bytes", "9223372036854771712\n");
        Write("fs/memory/process_api/abc/memory.usage_in_bytes", "2000\n");
        Write("fs/memory/process_api/abc/memory.stat", "cache 1500\ntotal_inactive_file 700\n");

        var info = CgroupMemory.Read(Path.Combine(_root, "cgroup"), Path.Combine(_root, "fs"));

        Assert.Equal(new ContainerInfo(1, null, 2000, 1300), info);
    }

    [Fact]
    public void V1_with_a_limit_on_a_combined_controller_line()
    {
        Write("cgroup", "5:cpuacct,memory:/job\n");
        Write("fs/memory/job/memory.limit_in_bytes", "536870912\n");
        Write("fs/memory/job/memory.usage_in_bytes", "1000\n");

        var info = CgroupMemory.Read(Path.Combine(_root, "cgroup"), Path.Combine(_root, "fs"));

        Assert.Equal(new ContainerInfo(1, 536870912, 1000, 1000), info);
    }

    [Fact]
    public void No_cgroup_files_mean_no_container_information()
    {
        Assert.Null(CgroupMemory.Read(Path.Combine(_root, "missing"), Path.Combine(_root, "fs")));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
