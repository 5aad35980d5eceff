package main

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

type Handlers struct {
	store  *Store
	events *EventPublisher
}

type createOrderRequest struct {
	CustomerID string      `json:"customer_id" binding:"required,max=64"`
	Items      []OrderItem `json:"items" binding:"required,min=1,max=100,dive"`
}

type updateStatusRequest struct {
	Status string `json:"status" binding:"required,oneof=paid shipped delivered"`
}

// allowed predecessors of each status reachable through PATCH /status
var transitions = map[string][]string{
	"paid":      {"pending"},
	"shipped":   {"paid"},
	"delivered": {"shipped"},
}

func orderID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		c.JSON(http.StatusBadRequest, gin.H{"error": "id must be a positive integer"})
		return 0, false
	}
	return id, true
}

func (h *Handlers) fail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": err.Error()})
	case errors.Is(err, ErrConflict):
		c.JSON(http.StatusConflict, gin.H{"error": err.Error()})
	default:
		slog.Error("request failed", "path", c.FullPath(), "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
	}
}

func (h *Handlers) ListOrders(c *gin.Context) {
	limit, err := strconv.Atoi(c.DefaultQuery("limit", "50"))
	if err != nil || limit < 1 || limit > 200 {
		c.JSON(http.StatusBadRequest, gin.H{"error": "limit must be between 1 and 200"})
		return
	}
	orders, err := h.store.List(c.Request.Context(), c.Query("customer_id"), c.Query("status"), limit)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"orders": orders})
}

func (h *Handlers) CreateOrder(c *gin.Context) {
	var req createOrderRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		return
	}
	order, err := h.store.Create(c.Request.Context(), req.CustomerID, req.Items)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.events.Publish(c.Request.Context(), "order.created", order); err != nil {
		// The order is stored either way; a lost event is logged, not fatal, in this example.
		slog.Warn("publish order.created", "order_id", order.ID, "err", err)
	}
	c.Header("Location", "/api/v1/orders/"+strconv.FormatInt(order.ID, 10))
	c.JSON(http.StatusCreated, order)
}

func (h *Handlers) GetOrder(c *gin.Context) {
	id, ok := orderID(c)
	if !ok {
		return
	}
	order, err := h.store.Get(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, order)
}

func (h *Handlers) UpdateStatus(c *gin.Context) {
	id, ok := orderID(c)
	if !ok {
		return
	}
	var req updateStatusRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		return
	}
	order, err := h.store.SetStatus(c.Request.Context(), id, req.Status, transitions[req.Status]...)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, order)
}

func (h *Handlers) CancelOrder(c *gin.Context) {
	id, ok := orderID(c)
	if !ok {
		return
	}
	order, err := h.store.SetStatus(c.Request.Context(), id, "cancelled", "pending", "paid")
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.events.Publish(c.Request.Context(), "order.cancelled", order); err != nil {
		slog.Warn("publish order.cancelled", "order_id", order.ID, "err", err)
	}
	c.JSON(http.StatusOK, order)
}
