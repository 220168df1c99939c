import pytest

from storage import PaymentRequired, accounts, credits


async def _user(db, email="c@example.com"):
    return await accounts.insert_user(db, email=email, password_hash="x", display_name="C")


async def test_posting_moves_balance_and_ledger_together(db):
    user = await _user(db)
    async with db.transaction():
        assert await credits.post_credits(db, user.id, 5, credits.LedgerKind.SIGNUP_GRANT) == 5
        assert await credits.post_credits(db, user.id, -2, credits.LedgerKind.STEP_DEBIT) == 3
    balance, ledger = await db.fetchrow(
        "SELECT u.credits, sum(l.delta) FROM users u JOIN credit_ledger l ON l.user_id = u.id GROUP BY u.credits"
    )
    assert balance == ledger == 3


async def test_debit_past_zero_is_refused_and_records_nothing(db):
    user = await _user(db)
    async with db.transaction():
        await credits.post_credits(db, user.id, 1, credits.LedgerKind.SIGNUP_GRANT)
    with pytest.raises(PaymentRequired):
        async with db.transaction():
            await credits.post_credits(db, user.id, -2, credits.LedgerKind.STEP_DEBIT)
    assert await db.fetchval("SELECT credits FROM users") == 1
    assert await db.fetchval("SELECT count(*) FROM credit_ledger") == 1


async def test_posting_outside_a_transaction_is_a_bug(db):
    user = await _user(db)
    with pytest.raises(RuntimeError):
        await credits.post_credits(db, user.id, 1, credits.LedgerKind.SIGNUP_GRANT)


async def test_balance_check_holds_even_against_direct_sql(db):
    import asyncpg

    user = await _user(db)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE users SET credits = -1 WHERE id = $1", user.id)
