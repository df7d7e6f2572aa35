<?php

use Illuminate\Support\Facades\Broadcast;

// private-orders.{id}: only the order's owner (here: the user whose id is the order id).
Broadcast::channel('orders.{orderId}', static fn ($user, $orderId) => (int) $user->id === (int) $orderId);

// presence-room.{id}: users 1 to 3 are members of every room.
Broadcast::channel('room.{roomId}', static fn ($user, $roomId) => $user->id <= 3 ? ['id' => $user->id, 'name' => $user->name] : false);
