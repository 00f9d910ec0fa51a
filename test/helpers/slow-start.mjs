#!/usr/bin/env node
// @ts-check
/**
 * The kitchen-sink stdio fixture, started after a delay (env SLOW_START_MS,
 * default 1000): an upstream that takes a while to come up, as real servers
 * launched through a package runner do. stdin is buffered meanwhile.
 */
const delay = Number(process.env.SLOW_START_MS ?? 1000);
setTimeout(() => {
  import(new URL('../fixtures/servers/stdio.mjs', import.meta.url).href).catch((error) => {
    console.error(`slow-start: ${error?.stack ?? error}`);
    process.exit(1);
  });
}, delay);
