//! The memory store's generic operations on declared resources (`resource.rs`): each table's rows by primary
//! key, with an index per other unique key, written once for every resource.

use std::collections::{BTreeMap, HashMap};

use crate::StoreError;
use crate::pagination::Slice;
use crate::query::{Listing, Match, Value};
use crate::resource::{Child, ErasedColumn, Field, Key, OnDelete, PrimaryKey, Row, Table, table_named};

/// The rows of every declared resource, by table.
#[derive(Default)]
pub(super) struct Tables {
    tables: HashMap<&'static str, Rows>,
}

/// One table: rows by primary key (so they list and export in its order), and for each other unique key of the
/// declaration (in order) the primary key that holds each value.
#[derive(Default)]
struct Rows {
    by_pk: BTreeMap<Key, Row>,
    unique: Vec<HashMap<Key, Key>>,
}

/// A reference column's value as the key it names (`None` for `NULL`).
fn key_of(value: Value<'_>) -> Option<Key> {
    match value {
        Value::Int(v) => Some(Key::Int(v)),
        Value::Text(v) => Some(Key::from(v.as_ref())),
        Value::Uuid(v) => Some(Key::Uuid(v)),
        _ => None,
    }
}

/// The primary key of a row of `table`.
fn pk_of(table: &Table, row: &Row) -> Result<Key, StoreError> {
    row.key(table.unique[0].0).ok_or_else(|| StoreError::backend(format!("a {} row without a key", table.name)))
}

impl Tables {
    fn rows(&self, table: &Table) -> Option<&Rows> {
        self.tables.get(table.name)
    }

    fn rows_mut(&mut self, table: &'static Table) -> &mut Rows {
        let rows = self.tables.entry(table.name).or_default();
        rows.unique.resize_with(table.unique.len() - 1, HashMap::new);
        rows
    }

    pub(super) fn len(&self, table: &Table) -> usize {
        self.rows(table).map_or(0, |rows| rows.by_pk.len())
    }

    /// Whether the declared table `name` holds the primary key `pk`.
    pub(super) fn contains(&self, name: &str, pk: &Key) -> bool {
        self.tables.get(name).is_some_and(|rows| rows.by_pk.contains_key(pk))
    }

    /// Every row of `table`, by primary key.
    pub(super) fn values<'a>(&'a self, table: &Table) -> impl Iterator<Item = &'a Row> + 'a {
        self.rows(table).into_iter().flat_map(|rows| rows.by_pk.values())
    }

    /// `Duplicate` when another row than `own` holds one of `row`'s unique keys.
    fn check_unique(&self, table: &Table, row: &Row, own: Option<&Key>) -> Result<(), StoreError> {
        let Some(rows) = self.rows(table) else { return Ok(()) };
        let pk = pk_of(table, row)?;
        if own.is_none() && rows.by_pk.contains_key(&pk) {
            return Err(StoreError::Duplicate { field: table.unique[0].0 });
        }
        for (i, (field, _)) in table.unique.iter().enumerate().skip(1) {
            let holder = row.key(*field).and_then(|key| rows.unique[i - 1].get(&key));
            if holder.is_some_and(|holder| Some(holder) != own) {
                return Err(StoreError::Duplicate { field: *field });
            }
        }
        Ok(())
    }

    /// `NotFound` when a parent `row` names is missing (parents are declared resources).
    fn check_parents(&self, row: &Row) -> Result<(), StoreError> {
        for parent in row.table().parents {
            let Some(key) = key_of(row.column_value(parent.column)) else { continue };
            if !self.contains(parent.table, &key) {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    fn index(&mut self, table: &'static Table, pk: Key, row: Row) {
        let rows = self.rows_mut(table);
        for (i, (field, _)) in table.unique.iter().enumerate().skip(1) {
            if let Some(key) = row.key(*field) {
                rows.unique[i - 1].insert(key, pk.clone());
            }
        }
        rows.by_pk.insert(pk, row);
    }

    fn unindex(&mut self, table: &'static Table, pk: &Key) -> Option<Row> {
        let rows = self.tables.get_mut(table.name)?;
        let row = rows.by_pk.remove(pk)?;
        for (i, (field, _)) in table.unique.iter().enumerate().skip(1) {
            if let Some(key) = row.key(*field) {
                rows.unique[i - 1].remove(&key);
            }
        }
        Some(row)
    }

    /// Adds `row` (with `allocate`, making its primary key when the declaration says so).
    pub(super) fn insert(&mut self, row: Row, allocate: bool) -> Result<Row, StoreError> {
        let table = row.table();
        let row = match table.pk {
            PrimaryKey::Allocated if allocate => {
                let highest = self.rows(table).and_then(|rows| rows.by_pk.keys().next_back().cloned());
                let next = match highest {
                    Some(Key::Int(pk)) => pk.saturating_add(1),
                    _ => 1,
                };
                row.with_pk(next)
            }
            _ => row,
        };
        self.check_unique(table, &row, None)?;
        self.check_parents(&row)?;
        self.index(table, pk_of(table, &row)?, row.clone());
        Ok(row)
    }

    pub(super) fn get(&self, table: &Table, field: Field, key: &Key) -> Option<&Row> {
        let rows = self.rows(table)?;
        if field == table.unique[0].0 {
            return rows.by_pk.get(key);
        }
        let i = table.unique.iter().position(|(f, _)| *f == field)?;
        rows.by_pk.get(rows.unique[i - 1].get(key)?)
    }

    /// One page of a listing; an exact filter on a unique key reads the one row it can match through the key's
    /// index (a visibility filter on the pk, a lookup by name), every other listing scans the table.
    pub(super) fn list(&self, table: &Table, listing: &Listing<ErasedColumn>) -> Slice<Row> {
        fn value(row: &Row, column: ErasedColumn) -> Value<'_> {
            row.listing_value(column)
        }
        for (column, how, operand) in &listing.filters {
            let unique = table.unique.iter().find(|(_, name)| *name == column.sql);
            if let (Match::Exact, Some((field, _)), Some(key)) = (how, unique, key_of(operand.clone()))
                && let Some(row) = self.get(table, *field, &key)
            {
                return listing.page_of(std::iter::once(row), value);
            }
        }
        listing.page_of(self.values(table), value)
    }

    pub(super) fn replace(&mut self, row: Row) -> Result<(), StoreError> {
        let table = row.table();
        let pk = pk_of(table, &row)?;
        if !self.contains(table.name, &pk) {
            return Err(StoreError::NotFound);
        }
        self.check_unique(table, &row, Some(&pk))?;
        self.check_parents(&row)?;
        self.unindex(table, &pk);
        self.index(table, pk, row);
        Ok(())
    }

    /// Deletes the row, and what its declared children do; answers the children that are not declared
    /// resources, for the caller to apply.
    pub(super) fn delete(&mut self, table: &'static Table, pk: &Key) -> Result<Vec<&'static Child>, StoreError> {
        self.unindex(table, pk).ok_or(StoreError::NotFound)?;
        let mut others = Vec::new();
        for child in table.children {
            let Some(child_table) = table_named(child.table) else {
                others.push(child);
                continue;
            };
            let referring: Vec<Row> = self
                .values(child_table)
                .filter(|row| key_of(row.column_value(child.column)).as_ref() == Some(pk))
                .cloned()
                .collect();
            for row in referring {
                let child_pk = pk_of(child_table, &row)?;
                match child.on_delete {
                    OnDelete::Cascade => {
                        others.extend(self.delete(child_table, &child_pk)?);
                    }
                    OnDelete::SetNull => {
                        let detached = row.detached(table.name);
                        self.unindex(child_table, &child_pk);
                        self.index(child_table, child_pk, detached);
                    }
                }
            }
        }
        Ok(others)
    }
}
