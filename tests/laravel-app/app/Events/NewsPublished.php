<?php

namespace App\Events;

use Illuminate\Broadcasting\Channel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;

/** Broadcast at once on the public `news` channel; its public properties are the data. */
class NewsPublished implements ShouldBroadcastNow
{
    public function __construct(public string $headline, public int $n)
    {
    }

    public function broadcastOn(): Channel
    {
        return new Channel('news');
    }
}
