/**
 * The data every subject works on: one seeded table of people-like rows, plus the counter and
 * event tables of the contention suite. The SQL here is the same text for every subject that
 * takes raw SQL, so the work per operation is identical.
 */

/** A row of `items`, as selected. */
export interface Item {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly score: number
  readonly created_at: number
  readonly bio: string
}

/** The values of a new `items` row, in column order: name, email, score, created_at, bio. */
export type NewItem = readonly [
  name: string,
  email: string,
  score: number,
  createdAt: number,
  bio: string,
]

/** Columns of {@link NewItem}, for query builders that take objects. */
export const ITEM_COLUMNS: readonly ['name', 'email', 'score', 'created_at', 'bio'] = [
  'name',
  'email',
  'score',
  'created_at',
  'bio',
]

export const SCHEMA: string = `
create table items (
  id integer primary key,
  name text not null,
  email text not null,
  score integer not null,
  created_at integer not null,
  bio text not null
);
create index items_score on items(score);
create table counters (id integer primary key, n integer not null);
insert into counters (id, n) values (1, 0);
create table events (id integer primary key, at integer not null, worker integer not null);
`

export const SQL: Readonly<{
  point: string
  range: string
  insert: string
  counterGet: string
  counterSet: string
  eventInsert: string
}> = Object.freeze({
  point: 'select * from items where id = ?',
  range: 'select * from items where id >= ? and id < ? order by id',
  insert: 'insert into items (name, email, score, created_at, bio) values (?, ?, ?, ?, ?)',
  counterGet: 'select n from counters where id = 1',
  counterSet: 'update counters set n = ? where id = 1',
  eventInsert: 'insert into events (at, worker) values (?, ?)',
})

/** Rows fetched by one range select. */
export const RANGE_ROWS = 50
/** Rows written by one batch-insert transaction. */
export const BATCH_ROWS = 100

/** A small deterministic PRNG (mulberry32), so every subject gets the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ['ada', 'grace', 'linus', 'barbara', 'ken', 'dennis', 'margaret', 'edsger', 'donald']

/** The `index`-th generated row (deterministic). */
export function makeItem(index: number, random: () => number): NewItem {
  const word = WORDS[index % WORDS.length] ?? 'x'
  const bio = `${word} wrote ${Math.floor(random() * 1e6)} lines of code and ${index} notes`.padEnd(
    96,
    '.',
  )
  return [
    `${word} ${index}`,
    `${word}.${index}@example.com`,
    Math.floor(random() * 1000),
    1_700_000_000 + index,
    bio,
  ]
}
