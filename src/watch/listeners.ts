/** Listeners for one kind of news, called in the order they were added. */
export class ListenerSet<T> {
  private readonly listeners: ((v: T) => void)[] = [];

  add(l: (v: T) => void): void {
    this.listeners.push(l);
  }

  emit(v: T): void {
    for (const l of this.listeners) l(v);
  }
}
