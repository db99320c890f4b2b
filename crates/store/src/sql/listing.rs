//! A listing (`query.rs`) compiled to SQL over a resource's `FROM` clause: the filters as bound parameters, each
//! search term as a substring test of the lower-cased columns, the ordering with PostgreSQL's `NULL` order.

use crate::query::{Column, Listing, Match, Value};
use crate::sql::{Param, Sql, exact_micros};

impl<C: Column> Listing<C> {
    /// The SQL of this listing over `from` (which joins what the columns name): the page with
    /// `COUNT(*) OVER ()` as `total`, and the count-only query for an empty page.
    pub(crate) fn to_sql(&self, position_fn: &str, columns: &str, from: &str) -> SqlListing {
        let mut filter = Sql::default();
        filter.push("1 = 1");
        for (column, how, value) in &self.filters {
            if *how == Match::Prefix {
                let prefix = value.as_str().unwrap_or_default().to_owned();
                filter.push(" AND ").push(position_fn).push("(").push(column.sql()).push(", ");
                filter.bind(Param::Text(prefix)).push(") = 1");
                continue;
            }
            let param = match value {
                Value::Null => {
                    filter.push(" AND ").push(column.sql()).push(" IS NULL");
                    continue;
                }
                Value::Int(v) => Param::Int(*v),
                Value::Bool(v) => Param::Bool(*v),
                Value::Text(v) => Param::Text(v.clone().into_owned()),
                Value::Uuid(v) => Param::Text(v.to_string()),
                // Stored times have microseconds: a finer one equals none of them.
                Value::Time(at) => match exact_micros(*at) {
                    Some(micros) => Param::Int(micros),
                    None => {
                        filter.push(" AND 1 = 0");
                        continue;
                    }
                },
            };
            filter.push(" AND ").push(column.sql()).push(" = ").bind(param);
        }
        for term in &self.search {
            filter.push(" AND (");
            for (i, column) in self.search_in.iter().enumerate() {
                if i > 0 {
                    filter.push(" OR ");
                }
                filter.push(position_fn).push("(").push(column.search_sql()).push(", ");
                filter.bind(Param::Text(term.clone())).push(") > 0");
            }
            filter.push(")");
        }
        let mut order = String::from(" ORDER BY ");
        for (column, desc) in &self.ordering {
            order.push_str(column.sql());
            order.push_str(if *desc { " DESC NULLS FIRST, " } else { " ASC NULLS LAST, " });
        }
        order.push_str(self.tiebreak.sql());
        order.push_str(" ASC");
        let count =
            Sql { text: format!("SELECT COUNT(*) FROM {from} WHERE {}", filter.text), params: filter.params.clone() };
        let mut page = Sql {
            text: format!("SELECT {columns}, COUNT(*) OVER () AS total FROM {from} WHERE {}{order}", filter.text),
            params: filter.params,
        };
        page.push(" LIMIT ")
            .bind(Param::Int(i64::try_from(self.page.limit()).unwrap_or(i64::MAX)))
            .push(" OFFSET ")
            .bind(Param::Int(i64::try_from(self.page.offset()).unwrap_or(i64::MAX)));
        SqlListing { page, count }
    }
}

/// A listing compiled to SQL: the page query and the count-only query, sharing the filter parameters.
#[derive(Debug)]
pub(crate) struct SqlListing {
    pub page: Sql,
    pub count: Sql,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagination::PageRequest;
    use crate::query::tests::Col;

    #[test]
    fn sql_compilation_binds_every_operand() {
        let listing = Listing::new(Some("Al"), &[Col::Id, Col::Name], Col::Id, PageRequest::default())
            .filter(Col::Name, Some("x".to_string()))
            .filter::<i64>(Col::Score, None)
            .order_by(&[(Col::Score, true)]);
        let sql = listing.to_sql("instr", "r.id", "rows r");
        assert_eq!(
            sql.page.text,
            "SELECT r.id, COUNT(*) OVER () AS total FROM rows r WHERE 1 = 1 AND r.name = $1 AND \
             (instr(r.id, $2) > 0 OR instr(r.name_lc, $3) > 0) ORDER BY r.score DESC NULLS FIRST, r.id ASC \
             LIMIT $4 OFFSET $5"
        );
        assert_eq!(sql.count.params.len(), 3);
        assert_eq!(sql.page.params[1], Param::Text("al".into()));
    }
}
