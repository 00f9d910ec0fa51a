/**
 * Tasks run one after another, each once the previous one has settled (a
 * failure does not stop the queue). A file store owns one, so its own writes
 * never contend for the file lock with each other; writes of other stores,
 * in this process or another, are ordered by the lock alone.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Settles once every task queued so far has. */
  idle(): Promise<void> {
    return this.tail;
  }
}
