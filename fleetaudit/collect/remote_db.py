"""The python3 snippet that copies the logger DB on the host: whole, or only the rows added since last time.

It runs read-only (``mode=ro``) inside one read transaction and writes framed records on stdout:
``T`` carries the DB's row state (schema hash; per table the last rowid, the row count and a sha256 over
every row in rowid order); then either the whole DB (``F`` raw bytes, or ``Q`` SQL text for a WAL DB) or,
when the state sent by the workstation still matches the rows up to the last rowid it saw, ``I``: the new
rows as JSON lines (first line: the columns of each table). Nothing is written on the host.
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
def walk(con, table, last):
    q = '"%s"' % table.replace('"', '""')
    cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % q)]
    h, n, top, pre, new = hashlib.sha256(), 0, 0, None, []
    for row in con.execute("SELECT rowid, * FROM %s ORDER BY rowid" % q):
        if pre is None and last is not None and row[0] > last:
            pre = [n, h.hexdigest()]
        if pre is not None:
            new.append(row)
        h.update(repr(tuple(row)).encode("utf-8"))
        n, top = n + 1, row[0]
    return [top, n, h.hexdigest()], pre or [n, h.hexdigest()], cols, new
def scan(con, prev):
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                       " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    state = {"schema": schema(con), "tables": {}}
    same = prev is not None and prev.get("schema") == state["schema"] and sorted(prev["tables"]) == names
    rows = {}
    for table in names:
        old = prev["tables"][table] if same else None
        top, pre, cols, new = walk(con, table, old[0] if old else None)
        state["tables"][table] = top
        same = same and pre == old[1:]
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
