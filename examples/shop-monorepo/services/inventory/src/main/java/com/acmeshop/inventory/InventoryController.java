package com.acmeshop.inventory;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;
import java.time.Instant;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.data.domain.Page;
import org.springframework.data.domain.PageRequest;
import org.springframework.data.domain.Sort;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/inventory")
public class InventoryController {

    public record StockView(String sku, String name, int onHand, int reserved, int available, Instant updatedAt) {
        static StockView of(StockItem item) {
            return new StockView(item.getSku(), item.getName(), item.getOnHand(), item.getReserved(),
                    item.available(), item.getUpdatedAt());
        }
    }

    public record StockUpdate(@NotBlank @Size(max = 255) String name, @Min(0) int onHand) {
    }

    public record ReservationRequest(@Min(1) @Max(1000) int quantity) {
    }

    private final InventoryService service;
    private final StockItemRepository repository;

    public InventoryController(InventoryService service, StockItemRepository repository) {
        this.service = service;
        this.repository = repository;
    }

    @GetMapping
    public Page<StockView> list(@RequestParam(defaultValue = "0") int page,
                                @RequestParam(defaultValue = "50") int size) {
        PageRequest request = PageRequest.of(Math.max(page, 0), Math.clamp(size, 1, 200), Sort.by("sku"));
        return repository.findAll(request).map(StockView::of);
    }

    @GetMapping("/{sku}")
    public ResponseEntity<StockView> get(@PathVariable String sku) {
        return ResponseEntity.of(service.find(sku).map(StockView::of));
    }

    @PutMapping("/{sku}")
    public StockView put(@PathVariable String sku, @Valid @RequestBody StockUpdate update) {
        return StockView.of(service.upsert(sku, update.name(), update.onHand()));
    }

    @PostMapping("/{sku}/reservations")
    public ResponseEntity<Void> reserve(@PathVariable String sku, @Valid @RequestBody ReservationRequest body) {
        return service.reserve(sku, body.quantity())
                .map(ok -> ok
                        ? ResponseEntity.status(HttpStatus.CREATED).<Void>build()
                        : ResponseEntity.status(HttpStatus.CONFLICT).<Void>build())
                .orElseGet(() -> ResponseEntity.notFound().build());
    }

    @DeleteMapping("/{sku}")
    public ResponseEntity<Void> delete(@PathVariable String sku) {
        return service.delete(sku) ? ResponseEntity.noContent().build() : ResponseEntity.notFound().build();
    }

    @ExceptionHandler(OptimisticLockingFailureException.class)
    public ResponseEntity<String> concurrentUpdate() {
        return ResponseEntity.status(HttpStatus.CONFLICT).body("concurrent update, retry");
    }
}
