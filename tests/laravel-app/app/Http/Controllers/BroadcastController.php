<?php

namespace App\Http\Controllers;

use App\Events\NewsPublished;
use App\Events\OrderShipped;
use Illuminate\Http\Request;

/** Requests that broadcast, as an app's actions do: `broadcast(new SomeEvent(...))`. */
class BroadcastController
{
    /** /broadcast/news?count=N&from=K: events n=K..K+N-1 on `news`, in that order. */
    public function news(Request $request)
    {
        [$from, $count] = [(int) $request->query('from', 1), (int) $request->query('count', 1)];
        for ($n = $from; $n < $from + $count; $n++) {
            broadcast(new NewsPublished("headline $n", $n));
        }
        return response()->json(['broadcast' => $count]);
    }

    /** /broadcast/order?order=ID&count=N&from=K: `order.shipped` on private-orders.ID and shipments. */
    public function order(Request $request)
    {
        [$from, $count] = [(int) $request->query('from', 1), (int) $request->query('count', 1)];
        for ($n = $from; $n < $from + $count; $n++) {
            broadcast(new OrderShipped((int) $request->query('order'), $n));
        }
        return response()->json(['broadcast' => $count]);
    }
}
