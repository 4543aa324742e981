/**
 * A small, safe pickle virtual machine: enough of protocols 2–5 to read what
 * `torch.save` writes. It never imports or runs Python code: `GLOBAL` names become
 * {@link PyGlobal} values, and `REDUCE` calls only the constructors a caller lists in
 * `reducers`; any other call becomes an inert {@link PyObject}.
 */
import { CovsegError } from '../../util/errors.js';

/** A Python global referenced by a pickle (`module.name`), never imported. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get fullName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The result of calling a global the reader does not know: kept as data, never executed. */
export class PyObject {
  state: PyValue = null;
  constructor(readonly callable: string, readonly args: PyValue[]) {}
}

/**
 * A decoded Python value. Tuples and lists are both arrays; dicts (also
 * `collections.OrderedDict`) are Maps keeping insertion order; ints beyond 2^53 are bigint;
 * `bytes` are Uint8Array. Reducers may add their own object types.
 */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | Map<PyKey, PyValue>
  | PyGlobal
  | PyObject
  | object;

export type PyKey = string | number | bigint | boolean | null;

export interface UnpickleOptions {
  /** Byte offset where the pickle starts (legacy `.pth` files chain several pickles). Defaults to 0. */
  offset?: number;
  /** File named in error messages. Defaults to none. */
  file?: string;
  /** Resolves `BINPERSID` ids (torch: storages). Defaults to an error naming the opcode. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /**
   * Functions for `REDUCE`/`NEWOBJ` by full name (`torch._utils._rebuild_tensor_v2`).
   * `collections.OrderedDict` and `builtins.set`/`frozenset` are built in.
   * Defaults to none (every other call becomes a {@link PyObject}).
   */
  reducers?: Record<string, (args: PyValue[]) => PyValue>;
}

export interface UnpickleResult {
  value: PyValue;
  /** Byte offset just after the STOP opcode. */
  end: number;
}

const BUILTIN_REDUCERS: Record<string, (args: PyValue[]) => PyValue> = {
  'collections.OrderedDict': (args) => {
    const out = new Map<PyKey, PyValue>();
    const items = args[0];
    if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv)) out.set(kv[0] as PyKey, kv[1] ?? null);
    return out;
  },
  'builtins.set': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  'builtins.frozenset': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
};

/**
 * Runs one pickle from `bytes` (starting at `options.offset`) and returns the value left by
 * STOP. Throws CovsegError naming the file, opcode and byte position on anything it cannot
 * read, e.g. "unsupported pickle opcode 0x63 at byte 12".
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): UnpickleResult {
  const file = options.file;
  const reducers = { ...BUILTIN_REDUCERS, ...(options.reducers ?? {}) };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  const stack: PyValue[] = [];
  // MARK positions live here (like Python's metastack), not on the value stack.
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let pos = options.offset ?? 0;
  let opPos = pos;

  const fail = (what: string): never => {
    throw new CovsegError(`${what} at byte ${opPos}; the pickle is damaged or not written by torch.save`, { file });
  };
  const need = (n: number): void => {
    if (pos + n > bytes.length) fail(`truncated pickle (needs ${n} more bytes)`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} too large`);
    return Number(v);
  };
  const raw = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) return fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) return fail('stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) return fail('MARK missing');
    return stack.splice(m);
  };
  const call = (callable: PyValue, args: PyValue): PyValue => {
    if (!(callable instanceof PyGlobal)) return fail('call of a value that is not a global');
    const argList = Array.isArray(args) ? args : [args];
    const fn = reducers[callable.fullName];
    return fn ? fn(argList) : new PyObject(callable.fullName, argList);
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof Map)) return void fail('SETITEM on a value that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i] as PyKey, items[i + 1]!);
  };
  const appendItems = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target)) return void fail('APPEND on a value that is not a list');
    target.push(...items);
  };
  const signedLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME: frames only group opcodes; the length is informational here
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (stack.length === 0) fail('stack underflow');
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(signedLong(raw(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(signedLong(raw(u32())));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text.decode(raw(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(raw(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(raw(u64())));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str; torch writes ASCII keys)
        stack.push(latin1.decode(raw(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(raw(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(raw(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const d = new Map<PyKey, PyValue>();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x90: // ADDITEMS (sets are read as lists)
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        stack.push(new PyGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(new PyGlobal(module as string, name as string));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: { // NEWOBJ
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const target = top();
        // OrderedDict state (a state_dict's `_metadata`) carries no tensors: drop it.
        if (target instanceof PyObject) target.state = state;
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail('persistent id (BINPERSID) without a storage loader');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} missing`);
        stack.push(memo.get(k)!);
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
