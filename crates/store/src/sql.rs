//! Building the SQL both engines read: numbered placeholders for lists and multi-row
//! inserts, whose length is known only at run time (the values are always bound, never
//! written into the text).

/// `count` numbered placeholders from `$first`, comma-separated: `$3, $4, $5`.
pub fn params(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 5);
    for n in first..first + count {
        if n > first {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// `rows` parenthesised groups of `width` placeholders numbered from `$first`:
/// `($1, $2), ($3, $4)`, for a multi-row `VALUES`.
pub fn rows(first: usize, rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * (width * 5 + 4));
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        out.push_str(&params(first + r * width, width));
        out.push(')');
    }
    out
}

/// ` WHEN $a THEN $b` for `count` pairs numbered from `$first`, for a `CASE id` that
/// gives each row its own value in one `UPDATE`.
pub fn when_then(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 16);
    for k in 0..count {
        let n = first + 2 * k;
        out.push_str(&format!(" WHEN ${n} THEN ${}", n + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_start_given() {
        assert_eq!(params(1, 3), "$1, $2, $3");
        assert_eq!(params(5, 1), "$5");
        assert_eq!(params(2, 0), "");
    }

    #[test]
    fn rows_number_on_across_groups() {
        assert_eq!(rows(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(rows(3, 1, 2), "($3, $4)");
        assert_eq!(rows(1, 0, 2), "");
    }

    #[test]
    fn when_then_pairs_number_on() {
        assert_eq!(when_then(1, 2), " WHEN $1 THEN $2 WHEN $3 THEN $4");
        assert_eq!(when_then(5, 0), "");
    }
}
