<?php

// Shared by the child scripts that look at the process's threads.

declare(strict_types=1);

/** @return list<string> the names of this process's threads other than the main one */
function threads(): array
{
    $names = [];
    foreach (glob('/proc/self/task/*') ?: [] as $task) {
        if ((int) basename($task) !== getmypid()) {
            $names[] = trim((string) file_get_contents($task . '/comm'));
        }
    }
    sort($names);

    return $names;
}
