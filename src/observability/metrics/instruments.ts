/**
 * The three kinds of instrument the topic files define, as narrow interfaces:
 * metrics.ts implements them with prom-client (its only import site), so a
 * topic file says what it measures without depending on the library.
 */

/** Label values by label name; a label left out is not set. */
export type Labels<L extends string> = Partial<Record<L, string>>;

export interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramSpec<L extends string> extends MetricSpec<L> {
  buckets: readonly number[];
}

export interface Counter<L extends string> {
  inc(labels: Labels<L>, value?: number): void;
  inc(value?: number): void;
}

export interface Histogram<L extends string> {
  observe(labels: Labels<L>, seconds: number): void;
}

/** What a gauge's scrape-time reading may do to it. */
export interface GaugeReading<L extends string> {
  set(labels: Labels<L>, value: number): void;
  set(value: number): void;
  /** Drops every labelled value, so a series whose source went away disappears. */
  reset(): void;
}

export interface Instruments {
  counter<L extends string = never>(spec: MetricSpec<L>): Counter<L>;
  histogram<L extends string>(spec: HistogramSpec<L>): Histogram<L>;
  /** A gauge whose values are read from their owner at every scrape (`read` sets them). */
  gauge<L extends string = never>(spec: MetricSpec<L>, read: (gauge: GaugeReading<L>) => void): void;
}

/** Starts each labelled series at 0, so an alert on its rate sees 0 rather than nothing. */
export function startAtZero<L extends string>(counter: Counter<L>, label: L, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value } as Labels<L>, 0);
}
