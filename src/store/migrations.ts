/**
 * The recording schema, as an ordered list of migrations: MIGRATIONS[i] takes a file from
 * `PRAGMA user_version = i` to `i + 1`. A migration is never edited once shipped; a change is a
 * new entry. A file whose user_version is above MIGRATIONS.length was written by a newer
 * gomemdoctor and is refused rather than misread.
 *
 * Raw captures are the truth (STYLE.md 5.9): `report` replays them through today's parsers and
 * detectors, so an old recording benefits from newer ones. Bytes of text captures are stored
 * deflated (`encoding = 'deflate'`): /proc and HTTP text shrinks 3–5×, and a day at one sample
 * per second stays a few hundred MB instead of a gigabyte.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE recording (
    id INTEGER PRIMARY KEY,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    pid INTEGER,
    url TEXT,
    command TEXT NOT NULL,
    gaps TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '[]',
    sources TEXT NOT NULL DEFAULT '[]'
  );
  CREATE TABLE tick (
    recording_id INTEGER NOT NULL REFERENCES recording(id),
    tick INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (recording_id, tick)
  ) WITHOUT ROWID;
  CREATE TABLE capture (
    recording_id INTEGER NOT NULL REFERENCES recording(id),
    tick INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    origin TEXT NOT NULL,
    encoding TEXT NOT NULL,
    bytes BLOB NOT NULL
  );
  CREATE UNIQUE INDEX capture_by_tick ON capture (recording_id, tick, seq);
  `,
]

/** PRAGMA application_id of a recording ('GMDR'), so any other SQLite file is told apart. */
export const APPLICATION_ID = 0x474d4452
