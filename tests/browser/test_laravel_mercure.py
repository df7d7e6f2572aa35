"""Issue 25, item 2: Laravel 13's Mercure broadcasting end to end on php-fpm, played from the
protocol (Debian packages neither laravel/framework's Mercure driver nor Echo's connector).

Two machines (nginx + php-fpm stacks on their own ports) share one redis-server and serve
tests/stacks/www/echo: a batch authorization sets one `__Secure-mercure_access_token` cookie
holding an at+jwt with a grant per channel (presence grants carry the member's payload and the
subscription-events pattern; whisper topics may be published and subscribed), and the hub runs
with active subscriptions. In Chromium, ada's page on machine A and bob's on machine B join
presence-chat.1: each seeds the members from the subscription API and keeps them current from
subscription events, so each sees both; ada whispers (a POST with the cookie from her page's
origin) and bob gets it; eve, outside the channel, is refused the member list and gets no
whisper; when bob's browser goes away, ada sees him leave.
"""
import time

import pytest

import cdp
from harness import nginx_fpm
from harness import redis as redis_harness
from harness.broadcast import no_crash
from harness.stack import WWW


@pytest.fixture(scope="module")
def machines():
    server = redis_harness.start()
    stacks = []
    try:
        stacks = [nginx_fpm.start(name=f"echo-{n}", ini={"sse.broker": server.url}, children=4, root=WWW / "echo",
                                  front_controller=True) for n in ("a", "b")]
        yield stacks
        no_crash(*stacks)
    finally:
        for stack in stacks:
            stack.stop()
        server.remove()


def open_page(stack, user, channel="presence-chat.1"):
    browser = cdp.Chromium()
    # localhost: a potentially trustworthy origin, where a Secure (and __Secure-) cookie is kept.
    browser.open(f"http://localhost:{stack.port}/page.html?user={user}&channel={channel}")
    return browser


def state(browser):
    return browser.evaluate("window.recorded") or {}


def wait_for(browser, check, what, timeout=20):
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = state(browser)
        if check(seen):
            return seen
        time.sleep(0.1)
    pytest.fail(f"{what}: the page has {seen}", pytrace=False)


def names(seen):
    return sorted((seen.get("members") or {}).values())


def test_presence_and_whispers_across_two_machines(machines):
    a, b = machines
    ada = open_page(a, "ada")
    bob = eve = None
    try:
        wait_for(ada, lambda s: s.get("open") and names(s) == ["Ada"], "ada alone in the channel")
        bob = open_page(b, "bob")
        wait_for(bob, lambda s: s.get("open") and names(s) == ["Ada", "Bob"], "bob sees ada (from the API) and himself")
        wait_for(ada, lambda s: names(s) == ["Ada", "Bob"], "ada sees bob join (a subscription event)")
        eve = open_page(a, "eve")
        wait_for(eve, lambda s: s.get("open") and "api 403" in s.get("errors", []), "eve refused the member list")

        status = ada.evaluate("window.whisper('hello')")
        # evaluate() returns a pending promise as {}: read the status the page keeps instead.
        assert status in (None, {}, 200), status
        wait_for(bob, lambda s: s.get("whispers") == ["ada: hello"], "bob gets ada's whisper, once")
        wait_for(ada, lambda s: s.get("whispers") == ["ada: hello"], "ada gets her own whisper, once")
        time.sleep(1)
        assert state(eve).get("whispers") == [], "a page outside the channel got a whisper"
        assert names(state(eve)) == [], "a page outside the channel saw members"

        bob.close()
        bob = None
        wait_for(ada, lambda s: names(s) == ["Ada"], "ada sees bob leave")
    finally:
        for browser in (ada, bob, eve):
            if browser:
                browser.close()
