/**
 * Shape novelty: how new the recent shape of a series is, as opposed to how far its value is from the
 * expected one. It catches what a one-step deviation cannot see without firing on ordinary noise: a
 * series that goes flat where it used to move, a missing daily peak, a level it never sat at, a rhythm
 * it never had. docs/baselines.md explains the method and its measurements.
 *
 * Each value is quantised into one of 8 bins of the series' own range (a min/max that slowly forgets);
 * values are taken in steps of at least five minutes (faster polls are averaged), so a context means the
 * same span of time whatever the poll interval. The context of a value is the bins of the last few
 * steps, seen at three resolutions: 2 and 3 steps of 8 bins, 4 steps of 4 bins. A fixed set of 832
 * bits (8^2 + 8^3 + 4^4 contexts, indexed exactly) remembers which contexts were seen. The novelty of a
 * value is the fraction of its three contexts never seen before.
 *
 * Novelty is an event, not a state: it is only reported after a week of learning (until then every
 * weekend is new) and never within 12 hours of an alarm of the series, so it fires at the first new
 * shape and is quiet while the new state repeats and becomes familiar.
 */

// Slots of the scalar state.
const FIRST_TIME = 0;
const LOW = 1;
const HIGH = 2;
const STEP_START = 3;
const STEP_SUM = 4;
const STEP_COUNT = 5;
const STEP_ANOMALOUS = 6;
const QUIET_UNTIL = 7;
// Bins of the last three closed steps (NaN until there are that many).
const PREVIOUS = 8;
// A novelty alarm is held for one step, so a detector polling faster than the step sees it on several
// consecutive polls (findings open after a few).
const FIRED_AT = 11;
const FIRED_NOVELTY = 12;
const LAST_NOVELTY = 13;
const LAST_TIME = 14;
// The `rate()` window behind the values (NaN: not rates of counts), for the count noise of the bins.
const COUNT_WINDOW = 15;
const SCALARS = 16;

// A context spans steps of at least this long: five minutes, NAB's and Prometheus' usual resolution.
const STEP_MS = 300_000;
const BINS = 8;
// Contexts: [steps, bins] at three resolutions; 8^2 + 8^3 + 4^4 = 832, indexed exactly (no hashing).
const VIEWS: readonly (readonly [number, number])[] = [
  [2, 8],
  [3, 8],
  [4, 4],
];
const VIEW_OFFSETS = [0, 64, 576];
const CONTEXTS = 832;
// Each end of the range moves towards the other by this fraction of the span per step unless a value
// pushes it back out: the range forgets a one-off excursion within about two weeks of 5-minute steps.
const RANGE_SHRINK = 1e-4;
// Until the series has a week of history every new weekday, weekend or batch window would be novel.
const WARMUP_MS = 7 * 86_400_000;
// After an alarm of the series (a deviation or a novelty) novelty is not reported for this long: a new
// state is one event, not an alarm at every new context while it settles.
const QUIET_MS = 12 * 3_600_000;
const MIN_SPAN = 1e-9;
// For rates of counts, bins are at least this many count-noise widths (Poisson, at the middle of the
// range) wide: at low request rates the counts alone would otherwise spread a quiet series over every
// bin and make every context look new. The count noise, not the baseline's learned noise: that one moves
// with every burst, and bins that move make familiar shapes look new.
const BIN_NOISE_WIDTHS = 2;

/** Bytes of state `ShapeNovelty` holds per series. */
export const noveltyStateBytes = SCALARS * 8 + CONTEXTS / 8;

/** Shape novelty of one series: fixed state, time in with each value. */
export class ShapeNovelty {
  private readonly state = new Float64Array(SCALARS).fill(NaN);
  // One bit per context. A seen context stays seen: forgetting (halving counts every four weeks) was
  // tried, and a context seen once and forgotten came back as a false alarm on quiet traffic.
  private readonly seen = new Uint8Array(CONTEXTS / 8);

  /** Bytes of learned state; fixed at creation. */
  get stateBytes(): number {
    return this.state.byteLength + this.seen.byteLength;
  }

  /**
   * The novelty (0..1) of `value` at `timeMs`: the fraction of its contexts never seen. 0 during the
   * first week and within the quiet period after an alarm. Call `settle` after it with the verdict.
   */
  assess(timeMs: number, value: number, countWindowSeconds: number | undefined): number {
    const s = this.state;
    if (Number.isNaN(s[FIRST_TIME] ?? NaN)) {
      s[FIRST_TIME] = timeMs;
      s[LOW] = value;
      s[HIGH] = value;
      s[QUIET_UNTIL] = -Infinity;
      s[FIRED_AT] = -Infinity;
      s[LAST_TIME] = timeMs;
      this.openStep(timeMs, value);
      return 0;
    }
    s[COUNT_WINDOW] = countWindowSeconds ?? NaN;
    const gap = Math.max(timeMs - (s[LAST_TIME] ?? timeMs), 0);
    s[LAST_TIME] = timeMs;
    if (timeMs - (s[STEP_START] ?? timeMs) >= STEP_MS) {
      this.closeStep();
      this.openStep(timeMs, value);
    } else {
      s[STEP_SUM] = (s[STEP_SUM] ?? 0) + value;
      s[STEP_COUNT] = (s[STEP_COUNT] ?? 0) + 1;
    }
    if (timeMs - (s[FIRED_AT] ?? -Infinity) < STEP_MS) return s[FIRED_NOVELTY] ?? 0;
    s[LAST_NOVELTY] = 0;
    if (timeMs - (s[FIRST_TIME] ?? timeMs) < WARMUP_MS || timeMs < (s[QUIET_UNTIL] ?? 0)) return 0;
    // Polled faster than the step, a context is judged on the step's last poll, by the mean it will be
    // learned as: a step's first few polls are noisier than its mean and would look new.
    if (timeMs - (s[STEP_START] ?? timeMs) + gap < STEP_MS) return 0;
    const bin = this.bin((s[STEP_SUM] ?? 0) / (s[STEP_COUNT] ?? 1));
    let novel = 0;
    let views = 0;
    VIEWS.forEach((view, i) => {
      const slot = this.slot(i, view, bin);
      if (slot === undefined) return;
      views += 1;
      if (!this.isSeen(slot)) novel += 1;
    });
    s[LAST_NOVELTY] = views === 0 ? 0 : novel / views;
    return s[LAST_NOVELTY];
  }

  /**
   * Tells the novelty what the baseline concluded about the value just assessed: `alarm` (the final
   * score reached the threshold) starts the quiet period, and holds the novelty for a step when it was
   * the novelty that raised it; `deviating` (the one-step score reached the threshold) keeps the value
   * out of the range, so an attack does not stretch the bins that later shapes are judged by.
   */
  settle(timeMs: number, alarm: boolean, deviating: boolean): void {
    const s = this.state;
    if (alarm && !deviating && timeMs - (s[FIRED_AT] ?? -Infinity) >= STEP_MS && (s[LAST_NOVELTY] ?? 0) > 0) {
      s[FIRED_AT] = timeMs;
      s[FIRED_NOVELTY] = s[LAST_NOVELTY] ?? 0;
    }
    if (alarm) s[QUIET_UNTIL] = timeMs + QUIET_MS;
    if (deviating) s[STEP_ANOMALOUS] = 1;
  }

  private openStep(timeMs: number, value: number): void {
    const s = this.state;
    s[STEP_START] = timeMs;
    s[STEP_SUM] = value;
    s[STEP_COUNT] = 1;
    s[STEP_ANOMALOUS] = 0;
  }

  /** Counts the contexts the finished step completes, then moves it into the history and the range. */
  private closeStep(): void {
    const s = this.state;
    const value = (s[STEP_SUM] ?? 0) / (s[STEP_COUNT] ?? 1);
    const bin = this.bin(value);
    VIEWS.forEach((view, i) => {
      const slot = this.slot(i, view, bin);
      if (slot !== undefined) this.seen[slot >> 3] = (this.seen[slot >> 3] ?? 0) | (1 << (slot & 7));
    });
    s[PREVIOUS + 2] = s[PREVIOUS + 1] ?? NaN;
    s[PREVIOUS + 1] = s[PREVIOUS] ?? NaN;
    s[PREVIOUS] = bin;
    if (s[STEP_ANOMALOUS] !== 1) {
      const low = s[LOW] ?? value;
      const high = s[HIGH] ?? value;
      const shrink = RANGE_SHRINK * (high - low);
      s[LOW] = Math.min(low + shrink, value);
      s[HIGH] = Math.max(high - shrink, value);
    }
  }

  private isSeen(slot: number): boolean {
    return (((this.seen[slot >> 3] ?? 0) >> (slot & 7)) & 1) === 1;
  }

  /** The bin of a value in the current range; values outside it fall in the edge bins. */
  private bin(value: number): number {
    const high = this.state[HIGH] ?? value;
    const range = high - (this.state[LOW] ?? value);
    const window = this.state[COUNT_WINDOW] ?? NaN;
    const countNoise = window > 0 ? Math.sqrt(Math.max(high - range / 2, 0) / window) : 0;
    const span = Math.max(range, BINS * BIN_NOISE_WIDTHS * countNoise, MIN_SPAN);
    const low = (this.state[LOW] ?? value) - (span - range) / 2;
    return Math.min(BINS - 1, Math.max(0, Math.floor(((value - low) / span) * BINS)));
  }

  /** The bit of view `i` for the context ending in `bin`, or undefined while history is too short. */
  private slot(i: number, [steps, bins]: readonly [number, number], bin: number): number | undefined {
    const scale = BINS / bins;
    let index = Math.floor(bin / scale);
    let weight = bins;
    for (let back = 0; back < steps - 1; back++) {
      const previous = this.state[PREVIOUS + back] ?? NaN;
      if (Number.isNaN(previous)) return undefined;
      index += Math.floor(previous / scale) * weight;
      weight *= bins;
    }
    return (VIEW_OFFSETS[i] ?? 0) + index;
  }
}
