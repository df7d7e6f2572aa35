<?php

/**
 * The global function of the `sse` extension (ext-sse), for IDEs and static analysis; see
 * sse.stub.php for the classes. Same signature as FrankenPHP's, so Symfony's MercureBundle
 * publishes through it when it is defined.
 */

/**
 * Publishes a Mercure update through the default broker (the sse.broker ini setting) and returns
 * its id: `$id` when given (subscribers see it and resume from it), else the one the broker
 * assigns. The first topic is the canonical one; `$private` updates reach only subscribers whose
 * token's mercure.subscribe selectors match a topic.
 *
 * @param string|string[] $topics
 * @throws \InvalidArgumentException a bad topic (empty, control or format characters, over 192
 *   bytes, more than 32, `*`, or in the reserved namespace /.well-known/mercure), an id that is
 *   empty, starts with `#`, is `earliest` or holds control or format characters, a type that is
 *   `mercure` or holds them, or a negative retry
 * @throws \Sse\InvalidEventException an update over 1 MiB
 * @throws \Sse\SseException the broker is unreachable (nothing was published)
 */
function mercure_publish(string|array $topics, string $data = '', bool $private = false, ?string $id = null, ?string $type = null, ?int $retry = null): string {}
