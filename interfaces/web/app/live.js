// Data read from the API and read again when the live feed says it changed: the read is asked
// with ``min_position`` (the event's position), so the read models have caught up with it.
import { useEffect, useRef, useState } from "./ui.js";
import { onFeed } from "./feed.js";

const SETTLE_MS = 150; // events come in bursts (an order's placement, acceptance, fills): read once
const PRICE_MS = 2000; // marks move every second or faster: read at most this often for them

/**
 * ``load(minPosition)`` now and whenever a feed message matches ``wants``; returns
 * {data, error, reload}. ``deps`` restart it (e.g. another bot).
 */
export function useLive(load, wants, deps) {
  const [state, setState] = useState({ data: null, error: null });
  const pending = useRef(null);
  const latest = useRef(0);

  const run = (minPosition) =>
    load(minPosition).then(
      (data) => setState({ data, error: null }),
      (error) => setState((previous) => ({ data: previous.data, error: error.message })),
    );

  useEffect(() => {
    setState({ data: null, error: null });
    run(undefined);
    const unsubscribe = onFeed((message) => {
      if (!wants(message)) return;
      if (message.type === "price") {
        if (!pending.current) {
          pending.current = setTimeout(() => {
            pending.current = null;
            run(undefined);
          }, PRICE_MS);
        }
        return;
      }
      latest.current = Math.max(latest.current, message.position ?? 0);
      clearTimeout(pending.current);
      pending.current = setTimeout(() => {
        pending.current = null;
        run(latest.current);
      }, SETTLE_MS);
    });
    return () => {
      unsubscribe();
      clearTimeout(pending.current);
    };
  }, deps);

  return { ...state, reload: () => run(undefined) };
}
