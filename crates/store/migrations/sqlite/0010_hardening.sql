-- Access tokens carry the account's token generation; signing out, changing the password
-- or an operator's password reset moves it on, and every token of an older generation
-- stops working at once, not when it expires.
ALTER TABLE users ADD COLUMN token_gen INTEGER NOT NULL DEFAULT 0;
