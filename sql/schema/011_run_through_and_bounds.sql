-- Payment amounts are bounded: |amount| <= 10^11 öre for each payment line and each payment
-- without lines (the daemon answers 422 before this; these constraints hold for any other
-- writer). A payment with lines totals at most 200 000 lines * 10^11 = 2 * 10^16, so every sum
-- over one payment or list is exact in bigint. NOT VALID: rows recorded before stay as they are
-- (the ledger is append-only); every new row is checked.
ALTER TABLE payment_lines ADD CONSTRAINT payment_lines_amount_bounded
    CHECK (amount_ore BETWEEN -100000000000 AND 100000000000) NOT VALID;
ALTER TABLE payments ADD CONSTRAINT payments_amount_bounded
    CHECK (amount_ore BETWEEN -20000000000000000 AND 20000000000000000
           AND (import_id IS NOT NULL OR amount_ore BETWEEN -100000000000 AND 100000000000)) NOT VALID;
