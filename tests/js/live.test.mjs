// The socket's reconnect timing and URL (live.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { backoffDelay, MAX_DELAY_MS, MIN_DELAY_MS, socketUrl } from "../../app/static/live.js";

test("reconnects wait half a second doubling up to ten, give or take a fifth", () => {
  const mid = () => 0.5;
  assert.equal(backoffDelay(0, mid), MIN_DELAY_MS);
  assert.equal(backoffDelay(1, mid), 1000);
  assert.equal(backoffDelay(50, mid), MAX_DELAY_MS);
  assert.equal(backoffDelay(0, () => 0), 400);
  assert.equal(backoffDelay(0, () => 1), 600);
  assert.equal(backoffDelay(50, () => 1), MAX_DELAY_MS);
});

test("the socket URL follows the page's scheme and carries the token, teams and deep patches", () => {
  globalThis.location = { protocol: "https:", host: "board.example:8443" };
  try {
    assert.equal(
      socketUrl("tok", ["一组", ""], "/pb"),
      "wss://board.example:8443/pb/ws?token=tok&team=%E4%B8%80%E7%BB%84&patch=deep",
    );
    globalThis.location.protocol = "http:";
    assert.equal(socketUrl("", [], "", "disp"), "ws://board.example:8443/ws?display=disp&patch=deep");
  } finally {
    delete globalThis.location;
  }
});
