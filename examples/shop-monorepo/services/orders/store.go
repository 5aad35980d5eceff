package main

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type OrderItem struct {
	SKU            string `json:"sku" binding:"required,max=64"`
	Quantity       int    `json:"quantity" binding:"required,min=1,max=1000"`
	UnitPriceCents int64  `json:"unit_price_cents" binding:"min=0"`
}

type Order struct {
	ID         int64       `json:"id"`
	CustomerID string      `json:"customer_id"`
	Status     string      `json:"status"`
	Items      []OrderItem `json:"items"`
	TotalCents int64       `json:"total_cents"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

var ErrNotFound = errors.New("order not found")

type Store struct {
	pool *pgxpool.Pool
}

const schema = `
CREATE TABLE IF NOT EXISTS orders (
    id          BIGSERIAL PRIMARY KEY,
    customer_id TEXT        NOT NULL,
    status      TEXT        NOT NULL DEFAULT 'pending',
    items       JSONB       NOT NULL,
    total_cents BIGINT      NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_customer_created_idx ON orders (customer_id, created_at DESC);
`

func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, schema)
	return err
}

const orderColumns = `id, customer_id, status, items, total_cents, created_at, updated_at`

func scanOrder(row pgx.Row) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.CustomerID, &o.Status, &o.Items, &o.TotalCents, &o.CreatedAt, &o.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	return o, err
}

func (s *Store) Create(ctx context.Context, customerID string, items []OrderItem) (Order, error) {
	var total int64
	for _, it := range items {
		total += int64(it.Quantity) * it.UnitPriceCents
	}
	row := s.pool.QueryRow(ctx,
		`INSERT INTO orders (customer_id, items, total_cents) VALUES ($1, $2, $3) RETURNING `+orderColumns,
		customerID, items, total)
	return scanOrder(row)
}

func (s *Store) Get(ctx context.Context, id int64) (Order, error) {
	return scanOrder(s.pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, id))
}

func (s *Store) List(ctx context.Context, customerID, status string, limit int) ([]Order, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+orderColumns+` FROM orders
		 WHERE ($1 = '' OR customer_id = $1) AND ($2 = '' OR status = $2)
		 ORDER BY created_at DESC LIMIT $3`,
		customerID, status, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	orders := make([]Order, 0, limit)
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	return orders, rows.Err()
}

// SetStatus moves an order to status if its current status is one of from.
func (s *Store) SetStatus(ctx context.Context, id int64, status string, from ...string) (Order, error) {
	row := s.pool.QueryRow(ctx,
		`UPDATE orders SET status = $2, updated_at = now()
		 WHERE id = $1 AND status = ANY($3)
		 RETURNING `+orderColumns,
		id, status, from)
	o, err := scanOrder(row)
	if errors.Is(err, ErrNotFound) {
		// Either the order does not exist or the transition is not allowed; tell them apart.
		if _, getErr := s.Get(ctx, id); getErr == nil {
			return Order{}, ErrConflict
		}
	}
	return o, err
}

var ErrConflict = errors.New("status transition not allowed")
