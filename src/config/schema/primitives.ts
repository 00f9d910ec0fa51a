/**
 * Small pieces every part of the configuration schema shares: name patterns
 * (also used by the load-time cross-key checks) and the value types that
 * recur (string maps, http(s) URLs, positive milliseconds, string lists).
 */
import { z } from 'zod';

/** Server names and prefixes; also checked against the separator at load. */
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Characters a separator may use: those of an exposed tool name. */
export const SEPARATOR_PATTERN = /^[A-Za-z0-9_.-]+$/;

export const NAME_RULE = 'letters, digits, "_" and "-", starting with a letter or digit';
export const StringMap = z.record(z.string(), z.string());
export const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
export const PositiveMs = z.int().positive();
export const StringList = z.array(z.string()).default([]);
