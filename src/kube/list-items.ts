/**
 * Splits a Kubernetes LIST answer (`{"kind":..., "metadata":{...}, "items":[{...}, {...}]}`) into its
 * items as the bytes arrive: each item is parsed on its own and handed over at once, so a page of
 * whole Nodes never exists as one parsed object graph (nor as one string). Each item's garbage dies
 * young; only what the caller keeps of it reaches V8's old generation.
 *
 * It tracks strings (and their escapes) and nesting, nothing else: JSON's structural characters are
 * ASCII and never occur inside a multi-byte UTF-8 sequence, so scanning bytes is safe. Whether each
 * item and the rest is valid JSON is left to JSON.parse.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

export class ListItemSplitter {
  /** Nesting depth before the byte being read: 1 inside the list object, 2 inside its items array. */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside the top-level "items" array. */
  private inItems = false;
  private itemsDone = false;
  /** The last string read at depth 1 (a key, when a colon follows), and the key of the value being read. */
  private lastString: number[] | undefined;
  private key = "";
  /** Bytes of the item being read (a list of chunk slices), and whether one is being read. */
  private item: Uint8Array[] = [];
  private inItem = false;
  /** Everything but the items: parsed at the end for apiVersion, kind and metadata. */
  private envelope: Uint8Array[] = [];
  /** Items handed over so far. */
  count = 0;

  /** `onItem` gets each item, parsed, in order. */
  constructor(private readonly onItem: (item: unknown) => void) {}

  /** Reads the next bytes of the answer; calls onItem for every item they complete. */
  push(chunk: Uint8Array): void {
    let envelopeFrom = this.inItems ? -1 : 0;
    let itemFrom = this.inItem ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        else if (this.lastString !== undefined) this.lastString.push(b);
        continue;
      }
      if (b === QUOTE) {
        this.inString = true;
        this.lastString = this.depth === 1 ? [] : undefined;
        if (this.inItems && this.depth === 2 && !this.inItem) throw new Error("a list item is not an object");
        continue;
      }
      if (this.depth === 1 && b === COLON && this.lastString !== undefined) {
        this.key = Buffer.from(this.lastString).toString("utf8");
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        if (this.inItems && this.depth === 2) {
          if (b === OPEN_BRACKET) throw new Error("a list item is not an object");
          this.inItem = true;
          itemFrom = i;
        }
        this.depth++;
        if (this.depth === 2 && b === OPEN_BRACKET && this.key === "items" && !this.itemsDone) {
          // The envelope keeps "items":[ and, once the array ends, ] (an empty array).
          this.envelope.push(chunk.slice(envelopeFrom, i + 1));
          envelopeFrom = -1;
          this.inItems = true;
        }
        continue;
      }
      if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        this.depth--;
        if (this.inItem && this.depth === 2) {
          this.item.push(chunk.subarray(itemFrom, i + 1));
          itemFrom = -1;
          this.inItem = false;
          this.emit();
        } else if (this.inItems && this.depth === 1) {
          this.inItems = false;
          this.itemsDone = true;
          envelopeFrom = i;
        }
        continue;
      }
      if (this.inItems && this.depth === 2 && !this.inItem && b !== COMMA && !isSpace(b)) throw new Error("a list item is not an object");
    }
    if (itemFrom >= 0) this.item.push(chunk.subarray(itemFrom));
    // Copied: a slice would keep the whole chunk (and every item in it) alive until the end.
    if (envelopeFrom >= 0) this.envelope.push(chunk.slice(envelopeFrom));
  }

  /** After the last chunk: the list without its items (`items` an empty array), parsed. */
  end(): unknown {
    if (this.depth !== 0 || this.inString || this.inItems) throw new Error("the list answer ended before it was complete");
    return JSON.parse(Buffer.concat(this.envelope).toString("utf8")) as unknown;
  }

  private emit(): void {
    const text = Buffer.concat(this.item).toString("utf8");
    this.item = [];
    this.count++;
    this.onItem(JSON.parse(text) as unknown);
  }
}
