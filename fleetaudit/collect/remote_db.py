"""The python3 snippet that copies the logger DB on the host: whole, or only the rows added since last time.

It runs read-only (``mode=ro``) inside one read transaction and writes framed records on stdout:
``T`` carries the DB's row state; then either the whole DB (``F`` raw bytes, or ``Q`` SQL text for a WAL DB)
or, when the state sent by the workstation still matches the rows up to the last rowid it saw, ``I``: the new
rows as JSON lines (first line: the columns of each table). Nothing is written on the host.

The row state (``"v": 2``) is, besides the schema hash, per table ``[top, n, base, sums, sha]``: the last
rowid, the row count, a rowid ``base`` that only moves in steps of 4096 rowids and stays 4096 to 8191
rowids behind ``top``, C-level SQLite aggregates over the rows up to ``base`` (row count, sum of rowids,
and per column the sum of its numbers and of the byte lengths of its text/blob values), and a sha256 of
the rows after ``base`` (``repr`` of each ``(rowid, *columns)`` in rowid order). So a run reads every row
in SQLite's C code once (no Python object per old row) and hashes only the newest 4096-8191 rowids.

What makes the next run a full copy instead of new rows only: any change at all to a row in the hashed
tail; a deleted or inserted row anywhere (count, rowid sum); in older rows, a changed number (unless other
changes cancel it exactly in the column's floating-point sum) or a text/blob value whose byte length
changed, or a value whose type changed between text/blob and number. NOT detected in rows before
``base``: an edit of a text/blob value to another of the same byte length (e.g. ``05:04`` -> ``05:05``),
or number edits that cancel in the sum; ``--full`` copies the whole DB and catches those. A state from
before ``"v": 2`` (full hash of every row) never matches: the first run after the upgrade is a full copy.
"""

from __future__ import annotations

PY = r"""import hashlib, json, os, sqlite3, sys
from urllib.parse import quote
name, cap, path, shown = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
prev_text = sys.argv[5] if len(sys.argv) > 5 else ""
out = sys.stdout.buffer
def rec(*fields):
    out.write(("@FA\t" + "\t".join(fields) + "\n").encode("utf-8", "replace"))
def copy(fd, n):
    while n > 0:
        chunk = os.read(fd, min(n, 1 << 20)) or b"\0" * min(n, 1 << 20)
        out.write(chunk)
        n -= len(chunk)
def dump(con):
    data = "\n".join(con.iterdump()).encode("utf-8")
    rec("Q", name, "ok", str(len(data)), str(len(data)), "0", "0", shown)
    out.write(data)
def raw(fd):
    st = os.fstat(fd)
    if st.st_size > cap:
        return rec("X", name, "%s is %d bytes, over its %d byte cap" % (shown, st.st_size, cap))
    rec("F", name, "ok", str(st.st_size), str(st.st_size), str(st.st_ino), str(int(st.st_mtime)), shown)
    os.lseek(fd, 0, 0)
    copy(fd, st.st_size)
def previous():
    try:
        prev = json.loads(prev_text) if prev_text else None
    except ValueError:
        return None
    return prev if isinstance(prev, dict) and isinstance(prev.get("tables"), dict) else None
def schema(con):
    h = hashlib.sha256()
    for row in con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"
                           " WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"):
        h.update(repr(tuple(row)).encode("utf-8"))
    return h.hexdigest()
B = 4096
AGG = "total(CASE WHEN typeof(%s) IN ('text', 'blob') THEN length(CAST(%s AS BLOB)) ELSE %s END)"
def ident(x):
    return '"%s"' % x.replace('"', '""')
def span(con, q, lo, hi):
    return con.execute("SELECT rowid, * FROM %s WHERE rowid > ? AND rowid <= ? ORDER BY rowid" % q, (lo, hi))
def digest(h, cur):
    n = 0
    while True:
        rows = cur.fetchmany(B)
        if not rows:
            return h, n
        h.update("".join(map(repr, rows)).encode("utf-8"))
        n += len(rows)
def agg(con, q, cols, hi):
    sums = ", ".join(AGG % (c, c, c) for c in map(ident, cols))
    return list(con.execute("SELECT count(*), total(rowid), %s FROM %s WHERE rowid <= ?" % (sums, q), (hi,)).fetchone())
def check(con, q, cols, old):
    if not (isinstance(old, list) and len(old) == 5):
        return None
    top, n, base, sums, sha = old
    a = agg(con, q, cols, base)
    h, k = digest(hashlib.sha256(), span(con, q, base, top))
    return (a, h) if a == sums and a[0] + k == n and h.hexdigest() == sha else None
def walk(con, table, old):
    q = ident(table)
    cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % q)]
    top = con.execute("SELECT max(rowid) FROM %s" % q).fetchone()[0]
    top, base = (0, -1 << 63) if top is None else (top, (top - B) // B * B)
    seen = check(con, q, cols, old) if old is not None else None
    new = span(con, q, old[0], top).fetchall() if seen else []
    if seen and old[2] == base:
        a, h = seen
        h.update("".join(map(repr, new)).encode("utf-8"))
        k = old[1] - a[0] + len(new)
    else:
        a = agg(con, q, cols, base)
        h, k = digest(hashlib.sha256(), span(con, q, base, top))
    return [top, a[0] + k, base, a, h.hexdigest()], seen is not None, cols, new
def scan(con, prev):
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                       " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    state = {"v": 2, "schema": schema(con), "tables": {}}
    same = (prev is not None and prev.get("v") == 2 and prev.get("schema") == state["schema"]
            and sorted(prev["tables"]) == names)
    rows = {}
    for table in names:
        entry, ok, cols, new = walk(con, table, prev["tables"][table] if same else None)
        state["tables"][table] = entry
        same = same and ok
        rows[table] = (cols, new)
    return state, (rows if same else None)
def value(v):
    return {"x": v.hex()} if isinstance(v, bytes) else v
def send_rows(rows):
    lines = [json.dumps(dict((t, ["rowid"] + c) for t, (c, new) in rows.items() if new))]
    for table, (cols, new) in sorted(rows.items()):
        lines += [json.dumps([table, [value(v) for v in row]]) for row in new]
    data = "\n".join(lines).encode("utf-8")
    rec("I", name, "ok", str(len(data)), str(len(data)), "0", "0", shown)
    out.write(data)
def locked_copy(fd):
    con = sqlite3.connect("file:%s?mode=ro" % quote(path), uri=True, timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        try:
            state, rows = scan(con, previous())
            rec("T", name, json.dumps(state, separators=(",", ":")))
        except sqlite3.OperationalError:
            rows = None
        if rows is not None:
            send_rows(rows)
        elif con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            dump(con)
        else:
            raw(fd)
        con.execute("COMMIT")
    finally:
        con.close()
def main():
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return rec("M", name)
    except PermissionError:
        return rec("D", name, shown)
    except OSError as e:
        return rec("X", name, "cannot open %s: %s" % (shown, e.strerror))
    try:
        if os.read(fd, 16) != b"SQLite format 3\x00":
            return rec("X", name, "%s is not an SQLite database (bad header)" % shown)
        locked_copy(fd)
    except sqlite3.Error as e:
        rec("X", name, "sqlite: %s" % " ".join(str(e).split()))
    finally:
        os.close(fd)
main()
out.flush()
"""
