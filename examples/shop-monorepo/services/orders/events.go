package main

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

type OrderEvent struct {
	Type       string      `json:"type"`
	OrderID    int64       `json:"order_id"`
	CustomerID string      `json:"customer_id"`
	Items      []OrderItem `json:"items"`
	OccurredAt time.Time   `json:"occurred_at"`
}

type EventPublisher struct {
	writer *kafka.Writer
}

func NewEventPublisher(brokers []string, topic string) *EventPublisher {
	return &EventPublisher{writer: &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		Balancer:               &kafka.Hash{}, // events of one order stay in one partition, in order
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           10 * time.Millisecond,
		AllowAutoTopicCreation: true,
	}}
}

func (p *EventPublisher) Publish(ctx context.Context, eventType string, o Order) error {
	payload, err := json.Marshal(OrderEvent{
		Type:       eventType,
		OrderID:    o.ID,
		CustomerID: o.CustomerID,
		Items:      o.Items,
		OccurredAt: time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	return p.writer.WriteMessages(ctx, kafka.Message{
		Key:   []byte(strconv.FormatInt(o.ID, 10)),
		Value: payload,
	})
}

func (p *EventPublisher) Close() error {
	return p.writer.Close()
}
