<?php

namespace App\Events;

use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcast;

/**
 * Queued (the `sync` queue runs it in the request) on the order's private channel and on the
 * public `shipments` channel, under the name `order.shipped`, with broadcastWith()'s data.
 */
class OrderShipped implements ShouldBroadcast
{
    public function __construct(public int $orderId, public int $n, public string $secret = 'not broadcast')
    {
    }

    public function broadcastOn(): array
    {
        return [new PrivateChannel("orders.{$this->orderId}"), 'shipments'];
    }

    public function broadcastAs(): string
    {
        return 'order.shipped';
    }

    public function broadcastWith(): array
    {
        return ['order' => $this->orderId, 'n' => $this->n];
    }
}
