/**
 * A page that refreshes itself every `everyMs` while it is shown and the
 * browser tab is visible: no timer runs for a hidden page or tab, a tab that
 * shows again refreshes at once, and two refreshes never overlap.
 */
export function refresher(everyMs, refresh) {
  let active = false;
  let timer = 0;
  let running = false;

  async function tick() {
    clearTimeout(timer);
    if (!active || document.hidden || running) return;
    running = true;
    try {
      await refresh(() => active);
    } finally {
      running = false;
      if (active && !document.hidden) timer = setTimeout(tick, everyMs);
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (!active) return;
    if (document.hidden) clearTimeout(timer);
    else tick();
  });

  return {
    show() {
      active = true;
      tick();
    },
    hide() {
      active = false;
      clearTimeout(timer);
    },
  };
}
