// Counts HTTP/1.1 responses on a keep-alive connection with the least parsing
// that frames them correctly: status code, Content-Length or chunked framing.
// A byte-at-a-time state machine over the head (a response head is ~150 bytes)
// and arithmetic skips over bodies, so a response split across reads, or two
// responses in one read, frame the same way and nothing is copied.

const CR = 13;
const LF = 10;
const CONTENT_LENGTH = Buffer.from('content-length:');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding:');
const CHUNKED = Buffer.from('chunked');

const enum State {
  StatusLine,
  HeaderLine,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
}

function lower(b: number): number {
  return b >= 65 && b <= 90 ? b | 0x20 : b;
}

function hexValue(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  const l = lower(b);
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

export class ResponseFramer {
  /** Responses completed with status >= 400 since construction. */
  errorResponses = 0;
  /** Set when the stream is not HTTP/1.x as expected; the connection should be dropped. */
  malformed = false;
  private state = State.StatusLine;
  private linePos = 0;
  private status = 0;
  private contentLength = 0;
  private chunked = false;
  private clMatch = 0;
  private teMatch = 0;
  private inClValue = false;
  private inTeValue = false;
  private chunkedMatch = 0;
  private remaining = 0;
  private chunkSize = 0;
  private inChunkExtension = false;

  /** Feeds bytes [start, end) of buf; returns how many responses completed in them. */
  feed(buf: Uint8Array, start: number, end: number): number {
    let completed = 0;
    let i = start;
    while (i < end) {
      switch (this.state) {
        case State.StatusLine: {
          const b = buf[i++]!;
          if (b === LF) {
            if (this.status < 100 || this.status > 999) this.malformed = true;
            this.state = State.HeaderLine;
            this.startLine();
          } else if (b !== CR) {
            const pos = this.linePos++;
            // "HTTP/1.1 200 OK": the code is bytes 9..11 of the line.
            if (pos >= 9 && pos <= 11) {
              if (b < 48 || b > 57) this.malformed = true;
              this.status = this.status * 10 + (b - 48);
            }
          }
          break;
        }
        case State.HeaderLine: {
          const b = buf[i++]!;
          if (b === LF) {
            if (this.linePos === 0) {
              if (this.endOfHead()) completed++;
            } else {
              this.startLine();
            }
          } else if (b !== CR) {
            this.headerByte(b);
          }
          break;
        }
        case State.Body: {
          const take = Math.min(this.remaining, end - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.finish();
            completed++;
          }
          break;
        }
        case State.ChunkSize: {
          const b = buf[i++]!;
          if (b === LF) {
            if (this.chunkSize === 0) {
              this.state = State.Trailers;
              this.linePos = 0;
            } else {
              this.state = State.ChunkData;
              this.remaining = this.chunkSize;
            }
          } else if (b === CR || this.inChunkExtension) {
            // nothing: the line ends at LF; extensions are ignored
          } else if (b === 59 /* ; */) {
            this.inChunkExtension = true;
          } else {
            const v = hexValue(b);
            if (v < 0) this.malformed = true;
            else this.chunkSize = this.chunkSize * 16 + v;
          }
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, end - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          if (buf[i++] === LF) {
            this.state = State.ChunkSize;
            this.chunkSize = 0;
            this.inChunkExtension = false;
          }
          break;
        }
        case State.Trailers: {
          const b = buf[i++]!;
          if (b === LF) {
            if (this.linePos === 0) {
              this.finish();
              completed++;
            } else {
              this.linePos = 0;
            }
          } else if (b !== CR) {
            this.linePos++;
          }
          break;
        }
      }
      if (this.malformed) return completed;
    }
    return completed;
  }

  private startLine(): void {
    this.linePos = 0;
    this.clMatch = 0;
    this.teMatch = 0;
    this.inClValue = false;
    this.inTeValue = false;
  }

  private headerByte(b: number): void {
    this.linePos++;
    if (this.inClValue) {
      if (b >= 48 && b <= 57) this.contentLength = this.contentLength * 10 + (b - 48);
      return;
    }
    if (this.inTeValue) {
      const l = lower(b);
      if (l === CHUNKED[this.chunkedMatch]) {
        if (++this.chunkedMatch === CHUNKED.length) this.chunked = true;
      } else {
        this.chunkedMatch = l === CHUNKED[0] ? 1 : 0;
      }
      return;
    }
    const l = lower(b);
    if (this.clMatch >= 0) {
      if (l === CONTENT_LENGTH[this.clMatch]) {
        if (++this.clMatch === CONTENT_LENGTH.length) {
          this.inClValue = true;
          this.contentLength = 0;
        }
      } else {
        this.clMatch = -1;
      }
    }
    if (this.teMatch >= 0) {
      if (l === TRANSFER_ENCODING[this.teMatch]) {
        if (++this.teMatch === TRANSFER_ENCODING.length) {
          this.inTeValue = true;
          this.chunkedMatch = 0;
        }
      } else {
        this.teMatch = -1;
      }
    }
  }

  /** Returns true when the response has no body and is complete now. */
  private endOfHead(): boolean {
    const s = this.status;
    if (s < 200 && s >= 100) {
      // 1xx interim response: the real one follows.
      this.resetForNext();
      return false;
    }
    if (s === 204 || s === 304) {
      this.finish();
      return true;
    }
    if (this.chunked) {
      this.state = State.ChunkSize;
      this.chunkSize = 0;
      this.inChunkExtension = false;
      return false;
    }
    if (this.contentLength > 0) {
      this.state = State.Body;
      this.remaining = this.contentLength;
      return false;
    }
    this.finish();
    return true;
  }

  private finish(): void {
    if (this.status >= 400) this.errorResponses++;
    this.resetForNext();
  }

  private resetForNext(): void {
    this.state = State.StatusLine;
    this.status = 0;
    this.contentLength = 0;
    this.chunked = false;
    this.chunkedMatch = 0;
    this.startLine();
  }
}
