// A/B against the album: the clip editor's second player streams the source track (HTTP Range)
// and switches with the clip at the matching moment, so a curator hears what was (or was not)
// copied. `clip.source` is the page's SourceMoment: source and clip offsets of the best match.
export class SourceAB extends EventTarget {
  constructor(source, player) {
    super();
    this.source = source;
    this.player = player; // the clip's Player (audition.js)
    this.audio = new Audio();
    this.audio.preload = "none";
    this.audio.src = source.audio_url;
    this.onSource = false;
    for (const ev of ["play", "pause", "timeupdate"]) this.audio.addEventListener(ev, () => this.#changed());
  }

  /** The source time matching clip time `t` (and back). */
  sourceTime(t) { return Math.max(0, this.source.source_offset_s + (t - this.source.clip_offset_s)); }
  clipTime(t) { return Math.max(0, this.source.clip_offset_s + (t - this.source.source_offset_s)); }

  get playing() { return this.onSource ? !this.audio.paused : this.player.playing; }

  /** Switch sides at the matching moment, playing on if the other side was. */
  async toggle() {
    const playing = this.playing;
    if (!this.onSource) {
      const t = this.player.currentTime;
      this.player.pause();
      this.audio.currentTime = this.sourceTime(t);
      this.onSource = true;
      if (playing) await this.#play();
    } else {
      const t = this.audio.currentTime;
      this.audio.pause();
      this.player.seek(this.clipTime(t));
      this.onSource = false;
      if (playing) await this.player.play();
    }
    this.#changed();
  }

  /** Play the album from the best-matching moment. */
  async playMoment() {
    this.player.pause();
    this.audio.currentTime = this.source.source_offset_s;
    this.onSource = true;
    await this.#play();
    this.#changed();
  }

  /** Space on the source side. */
  async togglePlay() {
    if (this.audio.paused) await this.#play(); else this.audio.pause();
  }

  async #play() {
    await this.audio.play().catch((e) => this.dispatchEvent(new CustomEvent("error", { detail: e })));
  }

  #changed() { this.dispatchEvent(new CustomEvent("state", { detail: { onSource: this.onSource, time: this.audio.currentTime } })); }
}
