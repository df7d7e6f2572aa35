<?php
// Helpers of the scenario scripts: write a JSON mark file into the stack's marks dir.
function bench_mark(string $name, array $data): void
{
    $dir = $_GET['marks'] ?? null;
    if ($dir === null || !is_dir($dir)) {
        return;
    }
    $ru = getrusage();
    $data += [
        'pid' => getmypid(),
        'end_ns' => hrtime(true),
        'cpu_s' => $ru['ru_utime.tv_sec'] + $ru['ru_utime.tv_usec'] / 1e6 + $ru['ru_stime.tv_sec'] + $ru['ru_stime.tv_usec'] / 1e6,
    ];
    file_put_contents("$dir/$name.json.tmp", json_encode($data));
    rename("$dir/$name.json.tmp", "$dir/$name.json");
}

function bench_cpu(): float
{
    $ru = getrusage();
    return $ru['ru_utime.tv_sec'] + $ru['ru_utime.tv_usec'] / 1e6 + $ru['ru_stime.tv_sec'] + $ru['ru_stime.tv_usec'] / 1e6;
}
